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
 * limits bound how many reach here).
 */
static void
cd_knock_mismatch(const struct ident_msg_knocked *o, int af,
    const uint8_t src[16])
{
	char a[INET6_ADDRSTRLEN], sig[INET6_ADDRSTRLEN] = "?";

	inet_ntop(af == 4 ? AF_INET : AF_INET6, src, a, sizeof(a));
	if (o->addr_af)
		inet_ntop(o->addr_af == 4 ? AF_INET : AF_INET6, o->addr, sig,
		    sizeof(sig));
	cd_log("knock from %s refused: address-mismatch (signed for %s)", a,
	    sig);
}

/* The signed address against the source the parent knows. */
static bool
cd_knock_addr_ok(const struct conf_identity *id,
    const struct ident_msg_knocked *o, int af, const uint8_t src[16])
{
	if (o->addr_af == af && memcmp(o->addr, src, af == 4 ? 4 : 16) == 0)
		return true;
	for (unsigned i = 0; i < id->nknock_nat; i++)
		if (knock_pfx_has(&id->knock_nat[i].inside, o->addr_af,
		        o->addr) &&
		    knock_pfx_has(&id->knock_nat[i].outside, af, src))
			return true;
	return false;
}

/*
 * A proposal: the token as cd_idprop_check judges it, the signed
 * address and the age as this side knows them, the replay cache last.
 * -1 when the child lied (it is then killed).
 */
static int
cd_knock_judge(struct cd *d, const struct ident_msg_knocked *o,
    const uint8_t *claims, int af, const uint8_t src[16])
{
	struct knock_ctx *kc = d->sess->knock;
	int64_t now = clk_unix_s();
	struct cd_idprop p;
	struct cd_err e;
	int rc;

	if (cd_idprop_check(d->run.conf, &o->v, claims, now, &p) < 0 ||
	    !cd_knock_addr_ok(&d->run.conf->identity, o, af, src)) {
		cd_idprop_free(&p);
		knock_count(kc, KNOCK_R_TOKEN_REJECTED);
		return -1;
	}
	if (p.rc != JOSE_OK) {
		knock_count(kc, KNOCK_R_TOKEN_REJECTED);
		cd_ident_refuse(d, p.rc, p.detail, &e);
		return 0;
	}
	if (o->timestamp < now - (int64_t)kc->conf.max_age)
		rc = KNOCK_R_STALE;
	else if (o->timestamp > now + (int64_t)kc->conf.leeway)
		rc = KNOCK_R_FUTURE;
	else
		rc = knock_replay_judge(kc, o->nonce, o->timestamp, now);
	knock_count(kc, rc);
	if (rc == KNOCK_R_OK)
		cd_knock_grant(d, &p, o->service, af, src);
	cd_idprop_free(&p);
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
	if (s == NULL || s->knock == NULL || h->id == 0 ||
	    s->kpend[h->id % CD_KNOCK_PEND].id != h->id)
		return 0; /* a knock this side no longer waits for */
	kp = s->kpend[h->id % CD_KNOCK_PEND];
	s->kpend[h->id % CD_KNOCK_PEND].id = 0;
	if (o.reason == KNOCK_R_OK)
		return cd_knock_judge(d, &o, claims, kp.af, kp.src);
	knock_count(s->knock, o.reason);
	if (o.reason == KNOCK_R_ADDR_MISMATCH)
		cd_knock_mismatch(&o, kp.af, kp.src);
	if (o.reason == KNOCK_R_TOKEN_REJECTED)
		cd_ident_refuse(d, o.v.rc, o.v.detail, &e);
	return 0;
}
