/*
 * Knocks (docs/knock.md) handed over by cordon-dp: judged by the
 * identity child in the order knock_check/knock_finish define (size,
 * rate per source, form, age, signed address against the source; token;
 * proof of possession), then here against the running config, the
 * source cordon-dp saw, and the replay cache (last), and granted like a
 * pushed token.  A bad knock gets no answer: it is counted and dropped.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/daemon/cordond.h"
#include "control/ident/knock.h"
#include "wire/dpc_proto.h"

static int cd_knock_done(struct cd *d, const struct proc_hdr *h,
    const uint8_t *p);

int
cd_knock_open(struct cd *d)
{
	const struct conf_identity *id = &d->run.conf->identity;
	struct knock_conf kc;
	char path[CONF_PATH_MAX + 32], err[256];

	if (id->knock_port == 0)
		return 0;
	memset(&kc, 0, sizeof(kc));
	kc.max_age = id->knock_max_age;
	kc.rate_milli = id->knock_rate * 1000;
	kc.burst = id->knock_burst;
	snprintf(path, sizeof(path), "%s/knock-replay", d->ctl.state_dir);
	kc.replay_path = path;
	knock_conf_defaults(&kc);
	if ((d->sess->knock = calloc(1, sizeof(*d->sess->knock))) == NULL ||
	    knock_ctx_init(d->sess->knock, &kc, clk_unix_s(), err,
	        sizeof(err)) < 0) {
		cd_log("knock: %s", d->sess->knock ? err : "out of memory");
		free(d->sess->knock);
		d->sess->knock = NULL;
		return -1;
	}
	d->sess->knock_done = cd_knock_done;
	return 0;
}

void
cd_knock_close(struct cd *d)
{
	if (d->sess == NULL || d->sess->knock == NULL)
		return;
	knock_ctx_fini(d->sess->knock);
	free(d->sess->knock);
	d->sess->knock = NULL;
}

static void
cd_knock_grant(struct cd *d, const struct cd_idprop *p, const char *svc, int af,
    const uint8_t src[16])
{
	char addr[INET6_ADDRSTRLEN];
	struct cd_grant *g;
	struct cd_err e;

	inet_ntop(af == 4 ? AF_INET : AF_INET6, src, addr, sizeof(addr));
	if (cd_sess_grant_prop(d, p, addr, svc, 0, "knock", &g, &e) < 0)
		cd_log("knock from %s for %s: %s", addr, svc, e.msg);
	else
		cd_log("knock from %s: session %u for %s (%s), until %lld",
		    addr, g->sid, svc, g->sub,
		    (long long)cd_boot_to_unix(g->ends));
}

/*
 * Someone delivered a knock signed for another address: a captured knock
 * forwarded, or a NAT nobody paired.  Worth a line (cordon-dp's knock
 * limits bound how many reach here).  The signed address is the one
 * this side read of the datagram.
 */
static void
cd_knock_mismatch(const struct cd_knock_pend *kp)
{
	char a[INET6_ADDRSTRLEN], sig[INET6_ADDRSTRLEN] = "?";
	const struct knock_fixed *f = &kp->f;

	inet_ntop(kp->af == 4 ? AF_INET : AF_INET6, kp->src, a, sizeof(a));
	if (kp->fixed_ok && (f->addr_af == 4 || f->addr_af == 6))
		inet_ntop(f->addr_af == 4 ? AF_INET : AF_INET6, f->addr, sig,
		    sizeof(sig));
	cd_log("knock from %s refused: address-mismatch (signed for %s)", a,
	    sig);
}

/* The datagram's signed address against the source cordon-dp saw. */
static bool
cd_knock_addr_ok(const struct conf_identity *id, const struct knock_fixed *f,
    int af, const uint8_t src[16])
{
	if (f->addr_af == af && memcmp(f->addr, src, af == 4 ? 4 : 16) == 0)
		return true;
	for (unsigned i = 0; i < id->nknock_nat; i++)
		if (knock_pfx_has(&id->knock_nat[i].inside, f->addr_af,
		        f->addr) &&
		    knock_pfx_has(&id->knock_nat[i].outside, af, src))
			return true;
	return false;
}

/*
 * The child's account of the knock is the datagram's, field by field:
 * a child that reports another nonce, time, address or service (say,
 * fresh ones for a replayed knock) is lying.
 */
static bool
cd_knock_same(const struct ident_msg_knocked *o, const struct cd_knock_pend *kp)
{
	const struct knock_fixed *f = &kp->f;

	return kp->fixed_ok && o->timestamp == f->timestamp &&
	       memcmp(o->nonce, f->nonce, KNOCK_NONCE_LEN) == 0 &&
	       o->addr_af == f->addr_af &&
	       memcmp(o->addr, f->addr, KNOCK_ADDR_LEN) == 0 &&
	       strcmp(o->service, f->service) == 0;
}

/*
 * A proposal: the token as cd_idprop_check judges it; the signed
 * address, the age and the replay cache (last) on what this side read
 * of the datagram itself.  -1 when the child lied (it is then killed).
 */
static int
cd_knock_judge(struct cd *d, const struct ident_msg_knocked *o,
    const uint8_t *claims, const struct cd_knock_pend *kp)
{
	struct knock_ctx *kc = d->sess->knock;
	const struct knock_fixed *f = &kp->f;
	int64_t now = clk_unix_s();
	struct cd_idprop p = { .claims = NULL };
	struct cd_err e;
	int rc;

	if (!cd_knock_same(o, kp) ||
	    cd_idprop_check(d->run.conf, &o->v, claims, now, &p) < 0 ||
	    !cd_knock_addr_ok(&d->run.conf->identity, f, kp->af, kp->src)) {
		cd_idprop_free(&p);
		knock_count(kc, KNOCK_R_TOKEN_REJECTED);
		return -1;
	}
	if (p.rc != JOSE_OK) {
		knock_count(kc, KNOCK_R_TOKEN_REJECTED);
		cd_ident_refuse(d, p.rc, p.detail, &e);
		return 0;
	}
	if (f->timestamp < now - (int64_t)kc->conf.max_age)
		rc = KNOCK_R_STALE;
	else if (f->timestamp > now + (int64_t)kc->conf.leeway)
		rc = KNOCK_R_FUTURE;
	else
		rc = knock_replay_judge(kc, f->nonce, f->timestamp, now);
	knock_count(kc, rc);
	if (rc == KNOCK_R_OK)
		cd_knock_grant(d, &p, f->service, kp->af, kp->src);
	cd_idprop_free(&p);
	return 0;
}

/*
 * An answer for a knock not waiting: no lie if this side gave it up
 * (its slot taken by a newer one, cd_knock_slot), once; any other id was
 * never asked (or is answered twice): a broken child.
 */
static int
cd_knock_late(struct cd_sessions *s, uint32_t id)
{
	uint32_t *g = &s->kgone[id % CD_KNOCK_PEND];

	if (id == 0 || *g != id)
		return -1;
	*g = 0;
	return 0;
}

static int
cd_knock_done(struct cd *d, const struct proc_hdr *h, const uint8_t *p)
{
	struct cd_sessions *s = d->sess;
	struct ident_msg_knocked o;
	struct cd_knock_pend kp;
	const uint8_t *claims;
	struct cd_err e;

	if (ident_dec_knocked(p, h->len, &o, &claims) < 0)
		return -1;
	if (s == NULL || s->knock == NULL)
		return 0; /* knocks turned off meanwhile */
	kp = s->kpend[h->id % CD_KNOCK_PEND];
	if (h->id == 0 || kp.id != h->id)
		return cd_knock_late(s, h->id);
	s->kpend[h->id % CD_KNOCK_PEND].id = 0;
	if (o.reason == KNOCK_R_OK)
		return cd_knock_judge(d, &o, claims, &kp);
	knock_count(s->knock, o.reason);
	if (o.reason == KNOCK_R_ADDR_MISMATCH)
		cd_knock_mismatch(&kp);
	if (o.reason == KNOCK_R_TOKEN_REJECTED)
		cd_ident_refuse(d, o.v.rc, o.v.detail, &e);
	return 0;
}
