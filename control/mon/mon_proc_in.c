/*
 * The monitoring child's receiver: one message from cordond, decoded
 * (mon_msg.c) before anything acts on it.  A record for targets that
 * are not the current ones (sent before a TARGETS crossed it) is only
 * counted.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmpa.h"
#include "core/util/clock.h"

static int
mon_ask(void *arg, uint32_t id)
{
	struct mon_child *m = arg;

	return proc_send(m->fd, MON_T_METRICS_GET, id, NULL, 0, -1);
}

static int
mon_ask_local(void *arg, const struct sl_target *t)
{
	struct mon_child *m = arg;
	struct mon_local l = { .gen = m->gen, .target = (uint32_t)(t - m->t) };

	return proc_send(m->fd, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1);
}

void
mon_child_init(struct mon_child *m, int fd)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
}

static void
mon_targets_free(struct mon_child *m)
{
	for (unsigned i = 0; i < m->n; i++)
		sl_target_free(&m->t[i]);
	m->n = 0;
}

void
mon_child_free(struct mon_child *m)
{
	mon_targets_free(m);
	mon_http_free(m->http);
	m->http = NULL;
}

int
mon_child_stats(struct mon_child *m, uint32_t id)
{
	struct mon_stats s;

	memset(&s, 0, sizeof(s));
	s.gen = m->gen;
	s.n = m->n;
	for (unsigned i = 0; i < m->n; i++) {
		sl_target_stat(&m->t[i], &s.t[i]);
		m->t[i].reported_busy = m->t[i].qn > 0;
	}
	m->dirty = false;
	m->stats_next_ms = clk_mono_ms() + MON_STATS_MS;
	return proc_send(m->fd, MON_T_STATS, id, &s, sizeof(s), -1);
}

static int
mon_in_prom(struct mon_child *m, const uint8_t *p, size_t len, int passfd)
{
	struct mon_http *h;

	if (mon_dec_prom(p, len, passfd) < 0)
		return -1;
	if ((h = mon_http_new(passfd, mon_ask, m)) == NULL) {
		close(passfd);
		proc_log(m->fd, "prometheus: out of memory");
		return 0;
	}
	mon_http_free(m->http); /* a new socket replaces the old */
	m->http = h;
	return 0;
}

static int
mon_in_metrics(struct mon_child *m, uint32_t id, const uint8_t *p, size_t len)
{
	struct mon_metrics_in in;

	if (mon_dec_metrics(p, len, &in) < 0)
		return -1;
	if (m->http != NULL)
		mon_http_answer(m->http, id, (int)in.status,
		    in.len ? (const char *)in.text : NULL, in.len);
	return 0;
}

static int
mon_in_targets(struct mon_child *m, const uint8_t *p, size_t len)
{
	struct mon_targets_in in;
	char err[MON_ERROR_MAX];

	if (mon_dec_targets(p, len, &in) < 0)
		return -1;
	mon_targets_free(m);
	m->gen = in.h.gen;
	for (unsigned i = 0; i < in.h.n; i++) {
		if (sl_target_init(&m->t[i], &in.h.t[i], in.ca[i], in.cert[i],
		        in.key[i], err, sizeof(err)) < 0) {
			/* the parent checked the files; a target that does
			 * not start stays down and says why */
			sl_target_free(&m->t[i]);
			memset(&m->t[i], 0, sizeof(m->t[i]));
			m->t[i].cf = in.h.t[i];
			m->t[i].fd = -1;
			m->t[i].retry_ms = INT64_MAX;
			snprintf(m->t[i].error, sizeof(m->t[i].error), "%s",
			    err);
			proc_log(m->fd, "syslog target %u: %s", i + 1, err);
		}
		m->t[i].ask = mon_ask_local;
		m->t[i].ask_arg = m;
		m->n++;
	}
	/* they connect from the loop (mon_proc.c): receiving does no I/O
	 * but on the channel */
	return mon_child_stats(m, 0) < 0 && errno != EAGAIN ? -1 : 0;
}

static int
mon_in_record(struct mon_child *m, const uint8_t *p, size_t len)
{
	struct mon_record_in r;

	if (mon_dec_record(p, len, &r) < 0)
		return -1;
	if (r.h.gen != m->gen || r.h.target >= m->n ||
	    m->t[r.h.target].q == NULL) {
		m->stale++;
		return 0;
	}
	sl_target_push(&m->t[r.h.target], (const char *)r.bytes, r.len);
	m->dirty = true;
	return 0;
}

static int
mon_in_local(struct mon_child *m, const uint8_t *p, size_t len, int passfd)
{
	struct mon_local l;

	if (mon_dec_local(p, len, passfd, true, &l) < 0)
		return -1;
	if (l.gen != m->gen || l.target >= m->n ||
	    m->t[l.target].cf.type != CONF_LOG_LOCAL) {
		if (passfd >= 0)
			close(passfd); /* for targets since replaced */
		return 0;
	}
	sl_target_local(&m->t[l.target], passfd, (int)l.err);
	m->dirty = true;
	return 0;
}

void
mon_child_flush(struct mon_child *m, unsigned ms)
{
	struct pollfd pfd[CONF_LOG_TARGET_MAX];
	int64_t end = clk_mono_ms() + ms;
	unsigned left;

	do {
		left = 0;
		for (unsigned i = 0; i < m->n; i++) {
			sl_target_tick(&m->t[i], clk_mono_ms());
			left += m->t[i].qn;
			pfd[i] = (struct pollfd){ .fd = m->t[i].fd,
				.events = sl_target_events(&m->t[i]) };
		}
		if (left == 0)
			break;
		if (poll(pfd, m->n, 50) > 0)
			for (unsigned i = 0; i < m->n; i++)
				if (pfd[i].fd == m->t[i].fd)
					sl_target_io(&m->t[i], pfd[i].revents);
	} while (clk_mono_ms() < end);
}

int
mon_child_in(struct mon_child *m, const struct proc_hdr *h, const uint8_t *p,
    int passfd)
{
	int rc = -1;

	switch (h->type) {
	case MON_T_PROM:
		rc = mon_in_prom(m, p, h->len, passfd);
		passfd = rc == 0 ? -1 : passfd;
		break;
	case MON_T_METRICS:
		rc = mon_in_metrics(m, h->id, p, h->len);
		break;
	case MON_T_TARGETS:
		rc = mon_in_targets(m, p, h->len);
		break;
	case MON_T_RECORD:
		rc = mon_in_record(m, p, h->len);
		break;
	case MON_T_LOCAL:
		rc = mon_in_local(m, p, h->len, passfd);
		passfd = rc == 0 ? -1 : passfd;
		break;
	case MON_T_FLUSH:
		if ((rc = mon_dec_flush(h->id, h->len)) == 0) {
			mon_child_flush(m, MON_FLUSH_MS);
			rc = mon_child_stats(m, h->id) < 0 && errno != EAGAIN
			         ? -1
			         : 0;
		}
		break;
	case MON_T_SNMP_CONF:
	case MON_T_SNMP_VARS:
	case MON_T_SNMP_TRAP:
	case MON_T_SNMP_STALE:
	case MON_T_AGENTX:
		return mon_snmpa_in(m, h, p, passfd); /* takes PASSFD */
	default:
		errno = EBADMSG;
		break;
	}
	if (passfd >= 0)
		close(passfd); /* nothing else takes a descriptor */
	return rc;
}
