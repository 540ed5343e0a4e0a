/*
 * cordond's side of the control child (docs/control.md section 3, "Who
 * reads the control sockets"): the child hands over each client's
 * socket once (ACCEPTED) and its requests (REQ); cordond serves them as
 * it always did (cd_cmd_run), with the uid and the socket it reads
 * itself from its copy of the client's fd, and sends the reply back.
 * A change is stored once the child says its reply was written whole
 * (DELIVERED), else when the client has gone (GONE, or the child died):
 * cd_promote.c.  What arrives while a request is served (proc_call of
 * START lets the child's other messages through) waits in a queue, so
 * that one request is served at a time, as before.  What cordond sends
 * on its own (the start notice, monitor lines) is in cd_proc_ctl_io.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/ctl/ctl_proc.h"
#include "control/daemon/cd_proc_ctl.h"
#include "control/daemon/cordond.h"

/* Messages held while one is served: what the channel's buffer
 * (PROC_SOCKBUF) can hold, at most; more is a child gone wrong. */
#define CD_CTL_QUEUE_MAX 16384
/* Their bytes: one request per client at most, and the small ones.  A
 * child that sends more (2 MiB a message) is cut off, not held. */
#define CD_CTL_HOLD_MAX ((CD_CLIENT_MAX + 1) * (CTL_REQ_FIXED + CTL_REQ_MAX))

_Static_assert(CD_CLIENT_MAX == CTL_CLIENT_MAX &&
                   CD_CLIENT_MAX == CTL_CLIENT_MAX_PARENT,
    "the child's slots are cordond's clients");
_Static_assert(CD_REQ_MAX == CTL_REQ_MAX, "one request bound");

struct cd_ctl_msg {
	struct proc_hdr h;
	int fd;
	struct cd_ctl_msg *next;
	uint8_t p[];
};

/* Slot I's client is no more: its change, if any, is stored as not
 * answered (WHY), its socket closed. */
static void
cd_ctl_release(struct cd *d, unsigned i, const char *why)
{
	struct cd_client *c = d->cl[i];

	d->ctlp.peer[i] = (struct cd_ctl_peer){ 0 };
	if (c == NULL)
		return;
	if (d->promote_rev != 0 && d->promote_cl == c)
		cd_promote(d, false, why);
	if (c->fd >= 0)
		close(c->fd);
	cd_mon_free(c->mon);
	free(c);
	d->cl[i] = NULL;
}

void
cd_ctl_close_all(struct cd *d)
{
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++)
		cd_ctl_release(d, i,
		    "cordond stopped before its answer was "
		    "written");
}

/* FD's local name (a stream socket's path) into SUN: 0, or -1. */
static int
cd_ctl_name(int fd, struct sockaddr_un *sun)
{
	socklen_t len = sizeof(*sun);
	int type = 0;
	socklen_t tlen = sizeof(type);

	memset(sun, 0, sizeof(*sun));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)sun, &len) < 0 ||
	    sun->sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return -1;
	sun->sun_path[sizeof(sun->sun_path) - 1] = '\0';
	return 0;
}

/*
 * Which of cordond's listeners FD was accepted on, by their own names:
 * 1 read-only, 0 control, -1 neither.  A listener itself has the same
 * name, and its SO_PEERCRED is whoever called listen(), cordond: never
 * a client.
 */
static int
cd_ctl_listener(struct cd *d, int fd)
{
	struct sockaddr_un c, l;
	int acc = 1;
	socklen_t alen = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0 ||
	    acc != 0 || cd_ctl_name(fd, &c) < 0)
		return -1;
	if (cd_ctl_name(d->rofd, &l) == 0 &&
	    strcmp(c.sun_path, l.sun_path) == 0)
		return 1;
	if (cd_ctl_name(d->lfd, &l) == 0 && strcmp(c.sun_path, l.sun_path) == 0)
		return 0;
	return -1;
}

/* A new client: who it is, read from its socket, never from the child. */
static int
cd_ctl_accepted(struct cd *d, const struct cd_ctl_in *in)
{
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cr);
	struct cd_client *c;
	int ro = cd_ctl_listener(d, in->fd);

	if (ro < 0 || d->cl[in->slot] != NULL ||
	    getsockopt(in->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(in->fd);
		d->ctlp.peer[in->slot] = (struct cd_ctl_peer){ 0 };
		return -1;
	}
	c->fd = in->fd;
	c->ro = ro == 1;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	c->cid = in->cid;
	c->since_ms = clk_mono_ms();
	d->cl[in->slot] = c;
	cd_debug("client uid %d pid %d on the %s socket", (int)cr.uid,
	    (int)cr.pid, ro ? "read-only" : "control");
	return 0;
}

/* REPLY (consumed) to slot I: 0, or -1 (the child is failed). */
static int
cd_ctl_reply(struct cd *d, struct proc_child *ch, unsigned i, json_t *reply)
{
	struct cd_client *c = d->cl[i];
	uint32_t flags = reply == NULL    ? CTL_REPLY_CLOSE
	                 : c->mon != NULL ? CTL_REPLY_MONITOR
	                                  : 0;
	struct ctl_reply r = { .cid = c->cid, .flags = flags };
	char *s;
	uint8_t *m = NULL;
	ssize_t n = -1;

	if (reply == NULL)
		reply = json_pack("{s:i, s:b, s:{s:s, s:s}}", "v", 1, "ok", 0,
		    "error", "code", "internal", "message",
		    "the client had gone: not served");
	s = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (s != NULL && strlen(s) > CTL_REPLY_MAX) {
		free(s);
		s = strdup("{\"v\":1,\"ok\":false,\"error\":{\"code\":"
		           "\"internal\",\"message\":\"reply too large\"}}");
	}
	if (s != NULL && (m = malloc(CTL_REPLY_FIXED + strlen(s))) != NULL) {
		r.json = s;
		r.len = strlen(s);
		n = ctl_enc_reply(&r, m, CTL_REPLY_FIXED + r.len);
	}
	free(s);
	if (n < 0 || cd_ctl_sent(d->ctlp.peer, i, CTL_T_REPLY, flags) < 0 ||
	    proc_send(ch->fd, CTL_T_REPLY, 0, m, (size_t)n, -1) < 0) {
		free(m);
		proc_fail(&d->procs, ch, "does not take its replies");
		return -1;
	}
	free(m);
	return 0;
}

/* One request of slot I, served as cordond always did. */
static int
cd_ctl_serve(struct cd *d, struct proc_child *ch, unsigned i, json_t *req)
{
	struct cd_client *c = d->cl[i];
	unsigned gen = d->ctlp.gen;
	json_t *reply;

	/* Serialised: a change answered elsewhere is stored first. */
	if (d->promote_rev != 0 && d->promote_cl != c)
		cd_promote(d, false,
		    "another request came before its answer was written");
	d->ctlp.serving = (int)i;
	reply = cd_cmd_run(d, req, c);
	d->ctlp.serving = -1;
	json_decref(req);
	cd_mon_attach(d, c); /* a monitor from now on, if it asked */
	/* A change made: stored once this reply is written. */
	if (d->promote_rev != 0 && d->promote_cl == NULL)
		d->promote_cl = c;
	if (gen != d->ctlp.gen || ch->fd < 0) {
		/* The child died while this was served: no one to answer. */
		json_decref(reply);
		cd_ctl_release(d, i,
		    "the control process stopped before its answer was "
		    "written");
		return 0;
	}
	return cd_ctl_reply(d, ch, i, reply);
}

static int
cd_ctl_handle(struct cd *d, struct proc_child *ch, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	struct cd_ctl_in in;

	/* STARTED answers a call (proc_call takes it); here it is late. */
	if (h->type == CTL_T_STARTED) {
		if (passfd >= 0)
			close(passfd);
		return -1;
	}
	if (cd_ctl_take(d->ctlp.peer, CD_CLIENT_MAX, h, p, h->len, passfd,
	        &in) < 0)
		return -1;
	switch (in.type) {
	case CTL_T_ACCEPTED:
		return cd_ctl_accepted(d, &in);
	case CTL_T_REQ:
		return cd_ctl_serve(d, ch, in.slot, in.req);
	case CTL_T_DELIVERED:
		/* Answered: now the change may be stored (cd_promote.c). */
		if (d->promote_rev != 0 && d->promote_cl == d->cl[in.slot])
			cd_promote(d, true, NULL);
		return 0;
	default: /* CTL_T_GONE */
		cd_debug("client uid %d gone", (int)d->cl[in.slot]->uid);
		cd_ctl_release(d, in.slot,
		    "the client had gone or stalled before its answer was "
		    "written");
		return 0;
	}
}

static void
cd_ctl_queue_free(struct cd *d)
{
	struct cd_ctl_msg *m;

	while ((m = d->ctlp.head) != NULL) {
		d->ctlp.head = m->next;
		if (m->fd >= 0)
			close(m->fd);
		free(m);
	}
	d->ctlp.tail = NULL;
	d->ctlp.queued = 0;
	d->ctlp.held = 0;
}

/* Held while a request is served: the next ones wait their turn. */
static int
cd_ctl_hold(struct cd *d, const struct proc_hdr *h, const uint8_t *p,
    int passfd)
{
	struct cd_ctl_msg *m = NULL;

	if (d->ctlp.queued >= CD_CTL_QUEUE_MAX ||
	    d->ctlp.held + h->len > CD_CTL_HOLD_MAX ||
	    (m = malloc(sizeof(*m) + h->len)) == NULL) {
		if (passfd >= 0)
			close(passfd);
		return -1;
	}
	m->h = *h;
	m->fd = passfd;
	m->next = NULL;
	memcpy(m->p, p, h->len);
	if (d->ctlp.tail != NULL)
		d->ctlp.tail->next = m;
	else
		d->ctlp.head = m;
	d->ctlp.tail = m;
	d->ctlp.queued++;
	d->ctlp.held += h->len;
	return 0;
}

/* The held messages, in order, once no request is being served. */
static int
cd_ctl_drain(struct cd *d, struct proc_child *ch)
{
	struct cd_ctl_msg *m;
	int rc = 0;

	if (d->ctlp.draining)
		return 0;
	d->ctlp.draining = true;
	while (rc == 0 && ch->fd >= 0 && (m = d->ctlp.head) != NULL) {
		if ((d->ctlp.head = m->next) == NULL)
			d->ctlp.tail = NULL;
		d->ctlp.queued--;
		d->ctlp.held -= m->h.len;
		rc = cd_ctl_handle(d, ch, &m->h, m->p, m->fd);
		free(m);
	}
	d->ctlp.draining = false;
	return rc;
}

static int
cd_ctl_in(void *arg, struct proc_child *ch, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	struct cd *d = arg;

	if (d->ctlp.serving >= 0 || d->ctlp.draining)
		return cd_ctl_hold(d, h, p, passfd);
	if (cd_ctl_handle(d, ch, h, p, passfd) < 0)
		return -1;
	return cd_ctl_drain(d, ch);
}

static void
cd_ctl_up(void *arg, struct proc_child *ch)
{
	struct cd *d = arg;
	uint8_t m[4];

	for (int ro = 0; ro < 2; ro++)
		if (ctl_enc_listen(ro, m, sizeof(m)) != 4 ||
		    proc_send(ch->fd, CTL_T_LISTEN, 0, m, 4,
		        ro ? d->rofd : d->lfd) < 0) {
			proc_fail(&d->procs, ch, "cannot take its sockets");
			return;
		}
}

static void
cd_ctl_down(void *arg, struct proc_child *ch)
{
	struct cd *d = arg;

	(void)ch;
	d->ctlp.gen++;
	cd_ctl_queue_free(d);
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++) {
		if ((int)i == d->ctlp.serving && d->cl[i] != NULL) {
			/* Released once its request returns (cd_ctl_serve). */
			close(d->cl[i]->fd);
			d->cl[i]->fd = -1;
			continue;
		}
		cd_ctl_release(d, i,
		    "the control process stopped before its answer was "
		    "written");
	}
}

const struct proc_def cd_proc_ctl_def = {
	.id = PROC_CTL,
	.name = "control",
	.user = "cordon-ctl",
	.net = false,
	.run = ctl_proc_run,
	.in = cd_ctl_in,
	.up = cd_ctl_up,
	.down = cd_ctl_down,
};
