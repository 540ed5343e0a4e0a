/*
 * cordond's side of the identity child (docs/identity.md "Processes").
 * The child verifies tokens (VERIFY: a call of at most
 * CD_IDENT_TIMEOUT_MS, for session add and explain) and knocks (KNOCK:
 * answered later by KNOCKED, judged in cd_sess_knock.c); each answer is
 * a proposal that cd_idprop_check judges against the running config.
 * A document the child found keys in becomes the issuer's last good one
 * and its cache file; a restarted child gets the configuration and every
 * document again.  The fetch child's side is cd_proc_ident_fetch.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/daemon/cordond.h"
#include "control/ident/ident_proc.h"
#include "wire/dpc_proto.h"

/* Our request ids: proc_call counts up from 1, these from 2^31. */
#define CD_IDENT_ID_BASE 0x80000000u

uint32_t
cd_ident_reqid(struct cd_sessions *s)
{
	uint32_t id = CD_IDENT_ID_BASE | (++s->knock_id & 0x7fffffffu);

	return id == CD_IDENT_ID_BASE ? cd_ident_reqid(s) : id;
}

static void
cd_ident_issuer_msg(struct ident_msg_issuer *m, const struct conf_issuer *c)
{
	snprintf(m->name, sizeof(m->name), "%s", c->name);
	snprintf(m->iss, sizeof(m->iss), "%s", c->iss);
	m->naud = c->naud < IDENT_AUD_MAX ? c->naud : IDENT_AUD_MAX;
	for (unsigned i = 0; i < m->naud; i++)
		snprintf(m->aud[i], sizeof(m->aud[i]), "%s", c->aud[i]);
	/* CONF_ALGS lists the algorithms in enum jose_alg's order. */
	m->algs = c->algs;
	m->leeway = c->leeway;
	m->max_token = c->max_token;
	m->max_lifetime = c->max_lifetime;
}

static void
cd_ident_config_msg(const struct conf *c, struct ident_msg_config *m)
{
	const struct conf_identity *id = &c->identity;

	memset(m, 0, sizeof(*m));
	m->niss = id->nissuers;
	for (unsigned i = 0; i < id->nissuers; i++)
		cd_ident_issuer_msg(&m->iss[i], &id->issuers[i]);
	m->knock_on = id->knock_port != 0;
	m->knock_max_age = id->knock_max_age;
	m->knock_rate_milli = id->knock_rate * 1000;
	m->knock_burst = id->knock_burst;
	m->knock_pop = id->knock_pop;
	m->nnat = id->nknock_nat;
	memcpy(m->nat, id->knock_nat, sizeof(m->nat[0]) * m->nnat);
}

struct proc_child *
cd_ident_child(struct cd *d, enum proc_id id)
{
	return proc_get(&d->procs, id);
}

void
cd_ident_send_keys(struct cd *d, unsigned i, unsigned src, const char *doc,
    size_t len, uint32_t id)
{
	struct proc_child *c = cd_ident_child(d, PROC_IDENT);
	struct ident_msg_keys k = { .issuer = i,
		.src = src,
		.len = (uint32_t)len };
	uint8_t *b;
	ssize_t n;

	if (c == NULL)
		return; /* the up handler sends it all */
	if ((n = ident_enc(&k, sizeof(k), doc, len, &b)) < 0)
		return;
	if (proc_send(c->fd, IDENT_T_KEYS, id, b, (size_t)n, -1) < 0)
		proc_kill(&d->procs, c, "does not take its keys");
	free(b);
}

void
cd_ident_send_all(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	struct proc_child *c = cd_ident_child(d, PROC_IDENT);
	struct ident_msg_config *m;

	if (c == NULL || s == NULL || (m = malloc(sizeof(*m))) == NULL)
		return;
	cd_ident_config_msg(d->run.conf, m);
	if (proc_send(c->fd, IDENT_T_CONFIG, 0, m, sizeof(*m), -1) < 0) {
		free(m);
		proc_kill(&d->procs, c, "does not take its configuration");
		return;
	}
	free(m);
	for (unsigned i = 0; i < s->nikeys; i++) {
		struct cd_iss_keys *k = &s->ikeys[i];

		cd_ident_send_keys(d, i, IDENT_KEYS_FILE, k->file, k->file_len,
		    cd_ident_reqid(s));
		cd_ident_send_keys(d, i, IDENT_KEYS_URI, k->uri, k->uri_len,
		    cd_ident_reqid(s));
	}
}

void
cd_ident_cache_path(const struct cd *d, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/jwks-%s.json", d->ctl.state_dir, name);
}

/* A fetched document gave keys: the last good one, kept and cached. */
static void
cd_ident_good(struct cd *d, struct cd_iss_keys *k)
{
	char path[CONF_PATH_MAX + 64];

	free(k->uri);
	k->uri = k->pend;
	k->uri_len = k->pend_len;
	k->pend = NULL;
	k->pend_len = 0;
	cd_ident_cache_path(d, k->name, path, sizeof(path));
	if (store_file_write(path, k->uri, k->uri_len) < 0)
		cd_log("issuer %s: %s: %s", k->name, path, strerror(errno));
}

static int
cd_ident_keystat(struct cd *d, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p)
{
	struct cd_sessions *s = d->sess;
	struct ident_msg_keystat m;
	struct cd_iss_keys *k;

	if (ident_dec_keystat(p, h->len, &m) < 0)
		return -1;
	if (s == NULL || m.issuer >= s->nikeys)
		return 0;
	k = &s->ikeys[m.issuer];
	k->nkeys = m.total;
	if (m.err[0] && proc_log_admit(&d->procs, c))
		cd_log("issuer %s: %s keys: %s; %u keys in use", k->name,
		    m.src == IDENT_KEYS_FILE ? "jwks_file" : "jwks_uri", m.err,
		    m.total);
	if (k->pend != NULL && h->id == k->pend_id) {
		if (m.nkeys > 0)
			cd_ident_good(d, k);
		free(k->pend);
		k->pend = NULL;
	}
	if (m.total == 0 && proc_log_admit(&d->procs, c))
		cd_log("issuer %s: no usable keys", k->name);
	return 0;
}

static int
cd_ident_in(void *arg, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	struct cd *d = arg;

	if (passfd >= 0)
		return -1;
	switch (h->type) {
	case IDENT_T_KEYSTAT:
		return cd_ident_keystat(d, c, h, p);
	case IDENT_T_KNOCKED:
		/* The knock module's (cd_sess_knock.c); without it no KNOCK
		 * was ever sent, so nothing can be answered. */
		if (d->sess == NULL || d->sess->knock_done == NULL)
			return -1;
		return d->sess->knock_done(d, h, p);
	}
	/* A VERDICT outside a call, or anything else: broken. */
	return -1;
}

static void
cd_ident_up(void *arg, struct proc_child *c)
{
	(void)c;
	cd_ident_send_all(arg);
}

static void
cd_ident_down(void *arg, struct proc_child *c)
{
	struct cd *d = arg;

	(void)c;
	/* Its knocks in flight are lost: no answer is no session.  The
	 * next child never saw them: it cannot answer one. */
	if (d->sess != NULL) {
		memset(d->sess->kpend, 0, sizeof(d->sess->kpend));
		memset(d->sess->kgone, 0, sizeof(d->sess->kgone));
	}
}

const struct proc_def cd_proc_ident_def = {
	.id = PROC_IDENT,
	.name = "identity",
	.user = "cordon-ident",
	.net = false,
	.run = ident_proc_run,
	.in = cd_ident_in,
	.up = cd_ident_up,
	.down = cd_ident_down,
};

/* ---- KNOCK ---- */

/* The slot of new request ID; a knock still waiting there is given up,
 * counted, and remembered as such (cd_knock_late). */
static struct cd_knock_pend *
cd_knock_slot(struct cd_sessions *s, uint32_t id)
{
	struct cd_knock_pend *kp = &s->kpend[id % CD_KNOCK_PEND];

	if (kp->id != 0) {
		s->kgone[kp->id % CD_KNOCK_PEND] = kp->id;
		knock_count(s->knock, KNOCK_R_GIVEN_UP);
	}
	memset(kp, 0, sizeof(*kp));
	kp->id = id;
	return kp;
}

/*
 * The running revision's knock age and rate: a commit may change them,
 * and the rate table is this side's (a new one for new limits: an
 * admin's commit, not something a knock can cause).  On ENOMEM the old
 * limits stay.  Here, not in cd_sess_knock.c: this file calling into the
 * sessions would close an import circle (tests/unit/daemon_graph.py).
 */
static void
cd_knock_follow(struct cd *d)
{
	const struct conf_identity *id = &d->run.conf->identity;
	struct knock_ctx *kc = d->sess->knock;
	uint32_t rate = id->knock_rate * 1000;
	struct knock_rate *r;

	kc->conf.max_age = id->knock_max_age;
	if (rate == kc->conf.rate_milli && id->knock_burst == kc->conf.burst)
		return;
	r = knock_rate_new(kc->conf.rate_slots, rate, id->knock_burst);
	if (r == NULL)
		return;
	knock_rate_free(kc->rate);
	kc->rate = r;
	kc->conf.rate_milli = rate;
	kc->conf.burst = id->knock_burst;
}

/*
 * Checks done here, before the identity child sees a knock, so that no
 * child can undo them: the size, and the rate of the source (a bucket
 * the child kept would be full again after each crash an attacker
 * caused).  0 when the knock goes on, else -1 (counted).
 */
static int
cd_knock_admit(struct knock_ctx *kc, const struct dpc_msg_knock *k,
    const uint8_t src[16], struct proc_child *c)
{
	int rc = KNOCK_R_OK;

	if (k->len > IDENT_KNOCK_MAX)
		rc = KNOCK_R_SIZE;
	else if (!knock_rate_allow(kc->rate, k->af, src, clk_mono_ms()))
		rc = KNOCK_R_RATE;
	else if (c == NULL)
		/* No identity child (restarting): no verdict, no session. */
		rc = KNOCK_R_IDENT_DOWN;
	if (rc == KNOCK_R_OK)
		return 0;
	knock_count(kc, rc);
	return -1;
}

void
cd_knock_in(void *arg, const struct dpc_msg_knock *k)
{
	struct cd *d = arg;
	struct cd_sessions *s = d->sess;
	struct proc_child *c = proc_get(&d->procs, PROC_IDENT);
	struct ident_msg_knock m = { .af = k->af, .len = k->len };
	struct cd_knock_pend *kp;
	uint8_t *b;
	ssize_t n;

	if (s == NULL || s->knock == NULL || (k->af != 4 && k->af != 6))
		return;
	memcpy(m.src, k->src, k->af == 4 ? 4 : 16);
	cd_knock_follow(d);
	if (cd_knock_admit(s->knock, k, m.src, c) < 0)
		return;
	m.now_ms = clk_unix_s() * 1000 + (clk_mono_ms() % 1000);
	m.mono_ms = clk_mono_ms();
	/* Its source as cordon-dp saw it, and what the datagram says of
	 * itself, stay here by request id. */
	kp = cd_knock_slot(s, cd_ident_reqid(s));
	kp->af = k->af;
	memcpy(kp->src, m.src, 16);
	kp->fixed_ok = knock_fixed_read(k->data, k->len, &kp->f) == 0;
	if ((n = ident_enc(&m, sizeof(m), k->data, k->len, &b)) < 0) {
		kp->id = 0;
		return;
	}
	if (proc_send(c->fd, IDENT_T_KNOCK, kp->id, b, (size_t)n, -1) < 0)
		kp->id = 0;
	free(b);
}

/* ---- VERIFY ---- */

/*
 * The identity child, waiting up to CD_IDENT_TIMEOUT_MS for one that is
 * starting (cordond's first requests, a restart): a request should not
 * fail for a child that is a few milliseconds from READY.
 */
static struct proc_child *
cd_ident_wait(struct cd *d)
{
	struct proc_child *c = &d->procs.c[PROC_IDENT];
	int64_t deadline = clk_mono_ms() + CD_IDENT_TIMEOUT_MS;
	struct pollfd pfd;

	if (c->pid == 0)
		d->proc_next_ms =
		    clk_mono_ms() + proc_tick(&d->procs, clk_mono_ms());
	while (!c->ready && c->fd >= 0 && clk_mono_ms() < deadline) {
		pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - clk_mono_ms())) > 0)
			proc_poll_done(&d->procs, &pfd, 1);
	}
	return proc_get(&d->procs, PROC_IDENT);
}

int
cd_ident_check(struct cd *d, const char *tok, size_t len, struct cd_idprop *p)
{
	static uint8_t ans[sizeof(struct ident_msg_verdict) + IDENT_CLAIMS_MAX];
	struct proc_child *c = cd_ident_wait(d);
	struct ident_msg_verify m = { .now = clk_unix_s() };
	struct ident_msg_verdict v;
	const uint8_t *claims;
	uint8_t *b;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->rc = CD_IDENT_DOWN;
	p->issuer = -1;
	if (len > IDENT_TOKEN_MAX) {
		p->rc = JOSE_TOO_LARGE;
		snprintf(p->detail, sizeof(p->detail), "over %u bytes",
		    IDENT_TOKEN_MAX);
		return p->rc;
	}
	m.len = (uint32_t)len;
	if (c == NULL || (n = ident_enc(&m, sizeof(m), tok, len, &b)) < 0) {
		snprintf(p->detail, sizeof(p->detail), "not running");
		return p->rc;
	}
	n = proc_call(&d->procs, c, IDENT_T_VERIFY, b, (size_t)n,
	    IDENT_T_VERDICT, ans, sizeof(ans), CD_IDENT_TIMEOUT_MS);
	free(b);
	if (n < 0) {
		snprintf(p->detail, sizeof(p->detail), "%s",
		    errno == ETIMEDOUT ? "timed out" : "it ended");
		return p->rc;
	}
	snprintf(p->detail, sizeof(p->detail), "a malformed verdict");
	if (ident_dec_verdict(ans, (size_t)n, &v, &claims) < 0 ||
	    cd_idprop_check(d->run.conf, &v, claims, m.now, p) < 0) {
		if ((c = cd_ident_child(d, PROC_IDENT)) != NULL)
			proc_fail(&d->procs, c, "broke its word on a token");
		p->rc = CD_IDENT_DOWN;
	}
	return p->rc;
}
