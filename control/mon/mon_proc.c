/*
 * The monitoring child's main and poll loop (mon_proc.h).  Before the
 * sandbox it initialises OpenSSL (which reads its configuration file);
 * after it, it has the channel and what cordond passes: the Prometheus
 * listening socket, the targets' configuration and PEM bytes.  It opens
 * sockets to the syslog targets (hence the host's network) and accepts
 * scrapes; nothing else.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmpa.h"
#include "core/util/clock.h"

/* The sanitizer build's common set allows openat already. */
#if defined(__SANITIZE_ADDRESS__)
#define MON_SC_FILES "mkdir!",
#else
#define MON_SC_FILES "openat!", "mkdir!",
#endif

/*
 * Beyond proc_sandbox's common set: sockets to targets, accepting
 * scrapes, TLS's randomness; for the AgentX subagent (mon_snmpa.c):
 * net-snmp's internal callback transport (pipe2), its select loop while
 * it opens its session, its socket options, the snapshot's memfd
 * (pread64, fcntl: the seals) and the passed AgentX socket (fcntl).
 * net-snmp's init looks for its files (locale, configuration, state
 * directories): refused (EACCES), as the empty root would anyway.
 */
static const char *const mon_syscalls[] = { "socket", "connect", "sendto",
	"sendmsg", "recvfrom", "recvmsg", "accept4", "getsockopt", "shutdown",
	"getrandom", "getpid", "select", "pselect6", "setsockopt", "pread64",
	"fcntl", "getsockname", "pipe2", MON_SC_FILES NULL };

/* The channel is readable: every message waiting.  -1: gone or broken. */
static int
mon_channel(struct mon_child *m, uint8_t *buf, size_t cap)
{
	struct proc_hdr h;
	ssize_t n;
	int passfd;

	for (;;) {
		n = proc_recv(m->fd, &h, buf, cap, &passfd);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (mon_child_in(m, &h, buf, passfd) < 0) {
			proc_log(m->fd, "monitoring: refused message type %u",
			    (unsigned)h.type);
			return -1;
		}
	}
}

/* Whether a target's queue went from empty to not or back since the
 * last STATS. */
static bool
mon_turned(const struct mon_child *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if ((m->t[i].qn > 0) != m->t[i].reported_busy)
			return true;
	return false;
}

static int
mon_timeout(const struct mon_child *m, int64_t now)
{
	int64_t t = now + 1000;

	t = mon_http_deadline(m->http, t);
	for (unsigned i = 0; i < m->n; i++)
		if (sl_target_next_ms(&m->t[i]) < t)
			t = sl_target_next_ms(&m->t[i]);
	if (m->dirty && m->stats_next_ms < t)
		t = m->stats_next_ms;
	return t <= now ? 0 : (int)(t - now);
}

static int
mon_once(struct mon_child *m, uint8_t *buf, size_t cap)
{
	struct pollfd
	    pfd[1 + MON_HTTP_PFD_MAX + CONF_LOG_TARGET_MAX + MON_SNMPA_FD_MAX];
	unsigned nh, ns, n = 1;
	int64_t now = clk_mono_ms();
	int timeout = mon_timeout(m, now);

	pfd[0] = (struct pollfd){ .fd = m->fd, .events = POLLIN };
	nh = mon_http_poll_fill(m->http, pfd + n);
	n += nh;
	for (unsigned i = 0; i < m->n; i++)
		pfd[n + i] = (struct pollfd){ .fd = m->t[i].fd,
			.events = sl_target_events(&m->t[i]) };
	ns = mon_snmpa_poll_fill(pfd + n + m->n, MON_SNMPA_FD_MAX, &timeout);
	if (poll(pfd, n + m->n + ns, timeout) < 0 && errno != EINTR)
		return -1;
	mon_http_poll_done(m->http, pfd + 1, nh);
	mon_snmpa_poll_done(pfd + n + m->n, ns);
	if (m->broken)
		return -1;
	for (unsigned i = 0; i < m->n; i++) {
		if (pfd[n + i].fd >= 0 && pfd[n + i].fd == m->t[i].fd &&
		    pfd[n + i].revents) {
			sl_target_io(&m->t[i], pfd[n + i].revents);
			m->dirty = true;
		}
		sl_target_tick(&m->t[i], clk_mono_ms());
	}
	if (pfd[0].revents && mon_channel(m, buf, cap) < 0)
		return -1;
	if (m->broken)
		return -1;
	/* at once when a queue fills or empties, else at most once a
	 * second: cordond's `queued` follows without a message a record */
	if (m->dirty && (mon_turned(m) || clk_mono_ms() >= m->stats_next_ms))
		(void)mon_child_stats(m, 0); /* EAGAIN: next time */
	return 0;
}

/*
 * OpenSSL reads its configuration and sets up its providers, ciphers and
 * decoders when first used, and checking a certificate's dates reads the
 * time zone: all of it now, while files can be opened, not after the
 * sandbox (where an open is fatal).
 */
static void
mon_ssl_warm(void)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nAA==\n"
	                           "-----END CERTIFICATE-----\n";
	SSL_CTX *ctx;
	BIO *b;

	tzset(); /* certificate times: /etc/localtime read once, now */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if ((ctx = SSL_CTX_new(TLS_client_method())) != NULL) {
		SSL_free(SSL_new(ctx));
		SSL_CTX_free(ctx);
	}
	if ((b = BIO_new_mem_buf(junk, sizeof(junk) - 1)) != NULL) {
		X509_free(PEM_read_bio_X509(b, NULL, NULL, NULL));
		BIO_free(b);
	}
	if ((b = BIO_new_mem_buf(junk, sizeof(junk) - 1)) != NULL) {
		EVP_PKEY_free(PEM_read_bio_PrivateKey(b, NULL, NULL, NULL));
		BIO_free(b);
	}
	ERR_clear_error();
}

int
mon_proc_run(int fd)
{
	static struct mon_child m;
	size_t cap = PROC_MSG_MAX;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return 1;
	mon_ssl_warm();
	mon_child_init(&m, fd);
	m.buf = buf;
	m.cap = cap;
	if (proc_sandbox(proc_defs[PROC_MON], mon_syscalls, NULL, 0) < 0 ||
	    proc_send(fd, PROC_T_READY, 0, NULL, 0, -1) < 0) {
		free(buf);
		return 1;
	}
	while (mon_once(&m, buf, cap) == 0)
		;
	/* the channel closed (cordond stopping kills us anyway): what is
	 * queued still goes out, briefly */
	mon_child_flush(&m, MON_FLUSH_MS);
	mon_child_free(&m);
	free(buf);
	return 0;
}
