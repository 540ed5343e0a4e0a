/*
 * cordon-knock: builds one knock (docs/knock.md) from a token and, with
 * --key, the private key the token's cnf claim binds, and sends it as a
 * single UDP datagram, naming (and with --key signing) the address it
 * is sent from.  The appliance never answers a knock; whether it
 * worked shows in whether the management path opens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "control/ident/knock.h"

#define KNOCK_TOKEN_FILE_MAX (KNOCK_MAX_LEN + 64)

struct knock_opts {
	const char *token_file, *key_file, *service, *to, *alg, *src;
	unsigned port, count;
	int print;
	int64_t when; /* --time, for tests; -1: now */
};

static void
knock_usage(FILE *f)
{
	fprintf(f,
	    "usage: cordon-knock --token FILE [--key PEM] "
	    "[--alg NAME] --service NAME\n"
	    "                    (--to ADDR[:PORT] [--port N] [--count N] |"
	    " --print)\n"
	    "                    [--src ADDR] [--time UNIX]\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
knock_die(const char *fmt, ...)
{
	va_list ap;

	fputs("cordon-knock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned long
knock_num(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || *s == '-')
		knock_die("bad %s: %s", what, s);
	return v;
}

static void
knock_opts_parse(int argc, char **argv, struct knock_opts *o)
{
	static const struct option lo[] = {
		{ "token", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "alg", required_argument, NULL, 'a' },
		{ "service", required_argument, NULL, 's' },
		{ "to", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "print", no_argument, NULL, 'P' },
		{ "time", required_argument, NULL, 'T' },
		{ "src", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct knock_opts){ .port = KNOCK_PORT_DEFAULT,
		.count = 1,
		.when = -1 };
	while ((c = getopt_long(argc, argv, "t:k:a:s:d:p:c:PT:S:h", lo,
	            NULL)) != -1) {
		switch (c) {
		case 't':
			o->token_file = optarg;
			break;
		case 'k':
			o->key_file = optarg;
			break;
		case 'a':
			o->alg = optarg;
			break;
		case 's':
			o->service = optarg;
			break;
		case 'd':
			o->to = optarg;
			break;
		case 'p':
			o->port = knock_num(optarg, 65535, "port");
			break;
		case 'c':
			o->count = knock_num(optarg, 100, "count");
			break;
		case 'P':
			o->print = 1;
			break;
		case 'S':
			o->src = optarg;
			break;
		case 'T':
			o->when = (int64_t)knock_num(optarg, INT64_MAX, "time");
			break;
		case 'h':
			knock_usage(stdout);
			exit(0);
		default:
			knock_usage(stderr);
			exit(2);
		}
	}
	/* --print alone has no route to learn the source address from. */
	if (optind != argc || !o->token_file || !o->service ||
	    (!o->to && !o->print) || (!o->to && !o->src) || o->port == 0 ||
	    o->count == 0) {
		knock_usage(stderr);
		exit(2);
	}
}

static bool
knock_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The token file's first line, without surrounding white space.  By
 * length, not as a C string: a NUL is kept (and refused with the other
 * bad token bytes), never the end of the token.
 */
static size_t
knock_read_token(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n, start = 0, end;

	if (f == NULL)
		knock_die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, cap - 1, f);
	if (ferror(f) || !feof(f))
		knock_die("%s: unreadable or larger than a knock allows", path);
	fclose(f);
	while (start < n && knock_space(buf[start]))
		start++;
	for (end = start; end < n && !knock_space(buf[end]); end++)
		;
	memmove(buf, buf + start, end - start);
	buf[end - start] = '\0';
	return end - start;
}

/* The token's claims, decoded without any check (just to warn). */
static json_t *
knock_token_claims(const char *tok)
{
	const char *p = strchr(tok, '.'), *q = p ? strchr(p + 1, '.') : NULL;
	size_t n = p && q ? (size_t)(q - p - 1) : 0, i;
	unsigned char b64[KNOCK_MAX_LEN + 4], raw[KNOCK_MAX_LEN];
	int len;

	if (n == 0 || n > KNOCK_MAX_LEN)
		return NULL;
	for (i = 0; i < n; i++)
		b64[i] = p[1 + i] == '-'   ? '+'
		         : p[1 + i] == '_' ? '/'
		                           : p[1 + i];
	while (i % 4)
		b64[i++] = '=';
	len = EVP_DecodeBlock(raw, b64, (int)i);
	if (len < 0)
		return NULL;
	/* EVP_DecodeBlock counts the bytes the padding stands for. */
	len -= (int)(i - n);
	return json_loadb((const char *)raw, (size_t)len, 0, NULL);
}

/* Warns when the key and the token's cnf claim disagree. */
static void
knock_warn_cnf(const char *tok, int have_key)
{
	json_t *c = knock_token_claims(tok);
	int bound = c && json_is_object(
	                     json_object_get(json_object_get(c, "cnf"), "jwk"));

	if (c && bound && !have_key)
		fprintf(stderr,
		    "cordon-knock: warning: the token binds a key "
		    "(cnf.jwk); without --key the appliance refuses it\n");
	if (c && !bound && have_key)
		fprintf(stderr,
		    "cordon-knock: warning: the token binds no "
		    "key (cnf.jwk); a signed knock will be refused\n");
	json_decref(c);
}

static EVP_PKEY *
knock_load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		knock_die("%s: %s", path, strerror(errno));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		knock_die("%s: not a PEM private key", path);
	return k;
}

static int
knock_pick_alg(EVP_PKEY *key, const char *name)
{
	int alg = knock_alg_for_key(key);

	if (alg < 0)
		knock_die("unsupported key type (RSA, EC P-256/P-384, "
		          "Ed25519, Ed448)");
	if (name == NULL)
		return alg;
	for (int a = 0; a < KNOCK_ALG_MAX; a++)
		if (strcmp(name, knock_alg_name(a)) == 0)
			return a;
	knock_die("unknown algorithm %s", name);
}

/* Builds (and signs) the knock from address SRC into BUF; its length. */
static size_t
knock_make(const struct knock_opts *o, const char *tok, size_t toklen,
    const struct knock_pfx *src, uint8_t *buf, size_t cap)
{
	struct knock_msg m = {
		.service = o->service,
		.service_len = strlen(o->service),
		.token = tok,
		.token_len = toklen,
		.timestamp = o->when >= 0 ? o->when : (int64_t)time(NULL),
		.addr_af = src->af,
	};
	EVP_PKEY *key = o->key_file ? knock_load_key(o->key_file) : NULL;
	int n, alg = key ? knock_pick_alg(key, o->alg) : -1;

	memcpy(m.addr, src->addr, sizeof(m.addr));
	if (RAND_bytes(m.nonce, sizeof(m.nonce)) != 1)
		knock_die("no randomness for the nonce");
	m.flags = key ? KNOCK_FLAG_POP : 0;
	n = knock_build(buf, cap, &m);
	if (n < 0)
		knock_die("cannot build the knock: %s",
		    errno == ENOSPC ? "token too long for one datagram"
		                    : "bad service name or token bytes");
	if (key) {
		n = knock_pop_sign(buf, cap, (size_t)n, key, alg);
		if (n < 0)
			knock_die("cannot sign as %s: %s", knock_alg_name(alg),
			    errno == EINVAL ? "key does not fit the algorithm"
			                    : strerror(errno));
		EVP_PKEY_free(key);
	}
	return (size_t)n;
}

/* "[v6]:port", "v6", "v4:port", "host" -> host and port strings. */
static void
knock_split_to(const char *to, unsigned dflt, char *host, size_t hcap,
    char port[12])
{
	const char *colon = strrchr(to, ':'), *end;
	size_t n;

	snprintf(port, 12, "%u", dflt);
	if (to[0] == '[') {
		end = strchr(to, ']');
		if (end == NULL || (end[1] && end[1] != ':'))
			knock_die("bad address %s", to);
		n = (size_t)(end - to - 1);
		if (end[1] == ':')
			colon = end + 1;
		else
			colon = NULL;
		to++;
	} else if (colon && strchr(to, ':') != colon) {
		n = strlen(to); /* a bare IPv6 address */
		colon = NULL;
	} else {
		n = colon ? (size_t)(colon - to) : strlen(to);
	}
	if (n == 0 || n >= hcap)
		knock_die("bad address %s", to);
	memcpy(host, to, n);
	host[n] = '\0';
	if (colon)
		snprintf(port, 12, "%lu", knock_num(colon + 1, 65535, "port"));
}

/* A UDP socket connected to --to: the kernel picks the route. */
static int
knock_connect(const struct knock_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	char host[256], port[12];
	int fd, rc;

	knock_split_to(o->to, o->port, host, sizeof(host), port);
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		knock_die("%s: %s", host, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		knock_die("socket: %s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		knock_die("%s port %s: %s", host, port, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* "192.0.2.7" or "2001:db8::7" into SRC. */
static void
knock_src_parse(const char *s, struct knock_pfx *src)
{
	memset(src, 0, sizeof(*src));
	if (inet_pton(AF_INET, s, src->addr) == 1)
		src->af = 4;
	else if (inet_pton(AF_INET6, s, src->addr) == 1)
		src->af = 6;
	else
		knock_die("bad --src address %s", s);
}

/*
 * The address to sign: --src, else the one the kernel chose for FD's
 * route -- behind a NAT, the inside address (docs/knock.md).
 */
static void
knock_src(const struct knock_opts *o, int fd, struct knock_pfx *src)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (o->src != NULL) {
		knock_src_parse(o->src, src);
		return;
	}
	memset(src, 0, sizeof(*src));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		knock_die("getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET) {
		src->af = 4;
		memcpy(src->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		src->af = 6;
		memcpy(src->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
}

static void
knock_send(const struct knock_opts *o, int fd, const uint8_t *buf, size_t len)
{
	/* Copies of one datagram, against loss: the rest count as replays. */
	for (unsigned i = 0; i < o->count; i++)
		if (send(fd, buf, len, 0) != (ssize_t)len)
			knock_die("send to %s: %s", o->to, strerror(errno));
	close(fd);
}

int
main(int argc, char **argv)
{
	static char tok[KNOCK_TOKEN_FILE_MAX];
	static uint8_t buf[KNOCK_MAX_LEN];
	struct knock_opts o;
	struct knock_pfx src;
	size_t toklen, len;
	int fd;

	knock_opts_parse(argc, argv, &o);
	toklen = knock_read_token(o.token_file, tok, sizeof(tok));
	if (toklen == 0)
		knock_die("%s: no token", o.token_file);
	knock_warn_cnf(tok, o.key_file != NULL);
	fd = o.to ? knock_connect(&o) : -1;
	knock_src(&o, fd, &src);
	len = knock_make(&o, tok, toklen, &src, buf, sizeof(buf));
	if (o.print) {
		for (size_t i = 0; i < len; i++)
			printf("%02x", buf[i]);
		putchar('\n');
		return fflush(stdout) == 0 ? 0 : 1;
	}
	knock_send(&o, fd, buf, len);
	return 0;
}
