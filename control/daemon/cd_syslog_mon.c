/*
 * The syslog targets through the monitoring child (control/mon/, its
 * handlers in cd_proc_mon.c): cordond formats the
 * records (cd_syslog.c) and hands each target's copy to the child, which
 * holds the sockets (control/mon/mon_sl_net.c).  TLS files are read here,
 * where files can be read, and their bytes go along with the targets.
 *
 * While the child is not there (restarting), records wait in a queue of
 * the target's own size (control.logging target "queue") and go to the
 * child, in order, once it is up again; when that queue is full, the new
 * record is dropped and counted as the target's "dropped".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/daemon/cd_proc_mon_chk.h"
#include "control/daemon/cd_syslog_int.h"
#include "control/daemon/cordond.h"
#include "core/util/ropen.h"

/* The monitoring child, when it runs and is READY. */
static struct proc_child *
cd_slt_child(struct cd *d)
{
	return proc_get(&d->procs, PROC_MON);
}

/* PATH's bytes, at most MON_BLOB_MAX. */
static int
cd_slt_read(const char *path, uint8_t **out, uint32_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n = -1;
	int fd = ropen_fd(path);

	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (st.st_size <= 0 || st.st_size > (off_t)MON_BLOB_MAX) {
		errno = EFBIG;
		goto fail;
	}
	if ((*out = malloc((size_t)st.st_size)) == NULL)
		goto fail;
	n = read(fd, *out, (size_t)st.st_size);
	if (n != st.st_size) {
		free(*out);
		*out = NULL;
		errno = n < 0 ? errno : EIO;
		goto fail;
	}
	*len = (uint32_t)n;
	close(fd);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int
cd_slt_init(struct cd_sl_target *t, const struct conf_log_target *cf, char *err,
    size_t errlen)
{
	const char *files[3] = { cf->ca, cf->cert, cf->key };

	memset(t, 0, sizeof(*t));
	t->cf = cf;
	if ((t->q = calloc(cf->queue, sizeof(*t->q))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (unsigned k = 0; cf->type == CONF_LOG_TLS && k < 3; k++)
		if (files[k][0] != '\0' && cd_slt_read(files[k], &t->blob[k],
		                               &t->blen[k], err, errlen) < 0)
			return -1;
	return 0;
}

void
cd_slt_free(struct cd_sl_target *t)
{
	for (unsigned i = 0; t->q && i < t->qn; i++)
		free(t->q[(t->qhead + i) % t->cf->queue].b);
	free(t->q);
	for (unsigned k = 0; k < 3; k++)
		free(t->blob[k]);
	memset(t, 0, sizeof(*t));
}

const char *
cd_slt_state(struct cd *d, const struct cd_sl_target *t)
{
	static const char *const names[] = { "down", "connecting", "handshake",
		"up" };

	if (cd_slt_child(d) == NULL || t->cur.state >= MON_TS_END)
		return "down";
	return names[t->cur.state];
}

unsigned
cd_slt_queued(const struct cd_sl_target *t)
{
	/* records on their way to the child are not counted: the child
	 * reports a queue as it fills and as it empties */
	return t->qn + t->cur.queued;
}

/* One record to the child; 0, or -1 (not sent). */
static int
cd_slt_send(struct cd *d, struct proc_child *c, unsigned i, const char *msg,
    size_t len)
{
	uint8_t buf[sizeof(struct mon_record) + MON_RECORD_MAX];
	ssize_t n = mon_enc_record(buf, sizeof(buf), d->slog->gen, i, msg, len);

	if (n < 0 || proc_send(c->fd, MON_T_RECORD, 0, buf, (size_t)n, -1) < 0)
		return -1;
	d->slog->t[i].given++;
	return 0;
}

static void
cd_slt_queue(struct cd_sl_target *t, const char *msg, size_t len)
{
	struct sl_pend *m;

	if (t->qn == t->cf->queue || (size_t)len > MON_RECORD_MAX) {
		t->dropped++;
		return;
	}
	m = &t->q[(t->qhead + t->qn) % t->cf->queue];
	if ((m->b = malloc(len)) == NULL) {
		t->dropped++;
		return;
	}
	memcpy(m->b, msg, len);
	m->len = (uint32_t)len;
	t->qn++;
}

void
cd_syslog_mon_pending(struct cd *d, struct proc_child *c)
{
	struct cd_syslog *s = d->slog;

	for (unsigned i = 0; s != NULL && c != NULL && i < s->ntargets; i++) {
		struct cd_sl_target *t = &s->t[i];

		while (t->qn > 0) {
			struct sl_pend *m = &t->q[t->qhead];

			if (cd_slt_send(d, c, i, m->b, m->len) < 0)
				break; /* the channel is full: later */
			free(m->b);
			m->b = NULL;
			t->qhead = (t->qhead + 1) % t->cf->queue;
			t->qn--;
		}
	}
}

void
cd_slt_push(struct cd *d, const char *msg, size_t len)
{
	struct cd_syslog *s = d->slog;
	struct proc_child *c = cd_slt_child(d);

	cd_syslog_mon_pending(d, c);
	for (unsigned i = 0; i < s->ntargets; i++)
		if (c == NULL || s->t[i].qn > 0 ||
		    cd_slt_send(d, c, i, msg, len) < 0)
			cd_slt_queue(&s->t[i], msg, len);
}

int
cd_syslog_mon_targets(struct cd *d, struct proc_child *c)
{
	struct cd_syslog *s = d->slog;
	struct mon_targets_in in;
	uint8_t *buf;
	ssize_t n;
	int rc;

	if (s == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	in.h.gen = ++s->gen;
	in.h.n = s->ntargets;
	for (unsigned i = 0; i < s->ntargets; i++) {
		const struct conf_log_target *cf = s->t[i].cf;
		struct mon_target *w = &in.h.t[i];

		w->type = (uint32_t)cf->type;
		w->port = cf->type == CONF_LOG_LOCAL ? 0 : cf->port;
		w->queue = cf->queue;
		snprintf(w->address, sizeof(w->address), "%s", cf->address);
		if (cf->type == CONF_LOG_TLS)
			snprintf(w->name, sizeof(w->name), "%s", cf->name);
		w->ca_len = s->t[i].blen[0];
		w->cert_len = s->t[i].blen[1];
		w->key_len = s->t[i].blen[2];
		in.ca[i] = s->t[i].blob[0];
		in.cert[i] = s->t[i].blob[1];
		in.key[i] = s->t[i].blob[2];
		memset(&s->t[i].cur, 0, sizeof(s->t[i].cur));
		s->t[i].given = 0;
	}
	if ((buf = malloc(PROC_MSG_MAX)) == NULL)
		return -1;
	n = mon_enc_targets(buf, PROC_MSG_MAX, &in);
	rc = n < 0 ? -1
	           : proc_send(c->fd, MON_T_TARGETS, 0, buf, (size_t)n, -1);
	free(buf);
	return rc;
}

void
cd_syslog_mon_view(struct cd *d, struct cd_mon_view *v)
{
	struct cd_syslog *s = d->slog;

	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; s != NULL && i < s->ntargets; i++) {
		v->type[i] = (uint32_t)s->t[i].cf->type;
		v->queue[i] = s->t[i].cf->queue;
		v->given[i] = s->t[i].given;
	}
	v->gen = s ? s->gen : 0;
	v->n = s ? s->ntargets : 0;
}

void
cd_syslog_mon_stats(struct cd *d, const struct mon_stats *st)
{
	if (d->slog == NULL)
		return;
	for (unsigned i = 0; i < st->n && i < d->slog->ntargets; i++)
		d->slog->t[i].cur = st->t[i];
}

void
cd_syslog_mon_down(struct cd *d)
{
	struct cd_syslog *s = d->slog;

	for (unsigned i = 0; s != NULL && i < s->ntargets; i++) {
		struct cd_sl_target *t = &s->t[i];

		t->sent += t->cur.sent;
		/* what it held and what was on the way to it is lost */
		t->dropped +=
		    t->cur.dropped + t->cur.queued + (t->given - t->cur.taken);
		t->given = 0;
		t->reconnects += t->cur.reconnects;
		t->errors += t->cur.errors;
		memset(&t->cur, 0, sizeof(t->cur));
	}
}

/* A local target's socket (the child cannot reach the path from its
 * empty root): connected here to the configured path, passed. */
void
cd_syslog_mon_local(struct cd *d, struct proc_child *c,
    const struct mon_local *l)
{
	struct cd_syslog *s = d->slog;
	struct mon_local a = *l;
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	int fd;

	snprintf(su.sun_path, sizeof(su.sun_path), "%s",
	    s->t[l->target].cf->address);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&su, sizeof(su)) < 0) {
		a.err = (uint32_t)(errno > 0 && errno < 4096 ? errno : EIO);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	(void)proc_send(c->fd, MON_T_LOCAL, 0, &a, sizeof(a), fd);
	if (fd >= 0)
		close(fd);
}

void
cd_syslog_mon_flush(struct cd *d)
{
	struct proc_child *c = cd_slt_child(d);
	struct mon_stats st;
	uint8_t *ans;
	ssize_t n;

	if (c == NULL || d->slog == NULL ||
	    (ans = malloc(PROC_MSG_MAX)) == NULL)
		return;
	cd_syslog_mon_pending(d, c);
	n = proc_call(&d->procs, c, MON_T_FLUSH, NULL, 0, MON_T_STATS, ans,
	    PROC_MSG_MAX, MON_FLUSH_MS + 500);
	if (n >= 0 && mon_dec_stats(ans, (size_t)n, &st) == 0) {
		struct cd_mon_view v;

		cd_syslog_mon_view(d, &v);
		if (st.gen == v.gen && st.n == v.n)
			cd_syslog_mon_stats(d, &st);
	}
	free(ans);
}
