/*
 * The fetch child (`cordond -P fetch`, docs/identity.md "Processes"):
 * the only identity code on the network.  It gets a jwks_uri over
 * verified HTTPS and hands the body back untouched; it parses no JSON
 * (the identity child does) and writes no file (the parent keeps the
 * cache).  The CAs come with each request or from the system bundle
 * read at start: once sandboxed it opens nothing.
 *
 * Names: the empty root has no /etc.  glibc's resolver (2.34 and later:
 * DNS and files built in, no NSS module to load) is initialised before
 * the sandbox, so /etc/resolv.conf as it was at the child's start is
 * used; a changed resolv.conf needs the child restarted (a cordond
 * restart).  /etc/hosts is not seen: a jwks_uri on a name only there
 * cannot be fetched.  An IP address literal needs no resolver.
 */
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "control/ident/ident_msg.h"
#include "control/ident/ident_proc.h"
#include "control/ident/jose.h"
#include "core/util/ropen.h"

/* libcurl: sockets, TLS, its resolver thread; no file, no exec. */
static const char *const fetch_syscalls[] = { "socket", "connect", "getsockopt",
	"setsockopt", "getsockname", "getpeername", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "bind", "ioctl", "getrandom",
	"madvise", "mremap", "clone", "clone3", "set_robust_list", "rseq",
	"pipe2", "eventfd2", "socketpair", "shutdown", "uname", "fcntl",
	"mprotect", "rt_sigprocmask", "sched_getaffinity", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "clock_gettime",
	"gettimeofday", "clock_nanosleep", "nanosleep", NULL };

static char *fetch_ca; /* the system bundle, read at start */
static size_t fetch_ca_len;

static void
fetch_ca_read(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *path =
	    v && v->cainfo ? v->cainfo : "/etc/ssl/certs/ca-certificates.crt";
	FILE *f = ropen_file(path);
	char *b;
	size_t n;

	if (f == NULL)
		return;
	if ((b = malloc(IDENT_CA_MAX)) != NULL) {
		n = fread(b, 1, IDENT_CA_MAX, f);
		if (n > 0 && n < IDENT_CA_MAX) {
			fetch_ca = b;
			fetch_ca_len = n;
		} else {
			free(b);
		}
	}
	fclose(f);
}

/*
 * The resolver's configuration and the time zone read now, while /etc
 * is there.  glibc reads /etc/localtime again at each localtime() while
 * TZ is unset (OpenSSL's certificate checks call it); with TZ naming
 * the file it keeps what it read.
 */
static void
fetch_resolver_warm(void)
{
	setenv("TZ", ":/etc/localtime", 0);
	tzset();
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;

	res_init();
	if (getaddrinfo("localhost", "443", &hints, &ai) == 0)
		freeaddrinfo(ai);
}

static void
fetch_one(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	struct ident_msg_fetch f;
	struct ident_msg_doc d;
	const uint8_t *ca;
	char *body = NULL;
	size_t len = 0;

	memset(&d, 0, sizeof(d));
	if (ident_dec_fetch(p, h->len, &f, &ca) < 0) {
		proc_log(fd, "fetch: malformed FETCH refused");
		return;
	}
	d.issuer = f.issuer;
	if (f.ca_len == 0) {
		ca = (const uint8_t *)fetch_ca;
		f.ca_len = (uint32_t)fetch_ca_len;
	}
	if (jose_jwks_fetch_blob(f.url, ca, f.ca_len, f.timeout_ms, &body, &len,
	        d.err, sizeof(d.err)) == 0 &&
	    len > 0 && len <= IDENT_DOC_MAX) {
		d.ok = 1;
		d.len = (uint32_t)len;
	} else if (d.err[0] == '\0') {
		snprintf(d.err, sizeof(d.err), "empty body");
	}
	/* libcurl's words may hold any byte: only printable ones go. */
	for (char *c = d.err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	memset(d.err + strlen(d.err), 0, sizeof(d.err) - strlen(d.err));
	ident_reply(fd, IDENT_T_DOC, h->id, &d, sizeof(d), d.ok ? body : NULL,
	    d.len);
	free(body);
}

static int
fetch_dispatch(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	if (h->type == IDENT_T_FETCH)
		fetch_one(fd, h, p);
	else
		proc_log(fd, "fetch: message type %u refused", h->type);
	return 0;
}

int
fetch_proc_run(int fd)
{
	jose_fetch_init();
	fetch_ca_read();
	fetch_resolver_warm();
	if (proc_sandbox(proc_defs[PROC_FETCH], fetch_syscalls, NULL, 0) < 0)
		return 1;
	if (proc_send(fd, PROC_T_READY, 0, NULL, 0, -1) < 0)
		return 1;
	return ident_chan_loop(fd, fetch_dispatch);
}
