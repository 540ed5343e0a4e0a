/*
 * Knocks (docs/knock.md) handed over by cordon-dp: checked in the order
 * knock_check/knock_finish define (size, rate per source, form, age,
 * signed address against the source; token; proof of possession; replay
 * cache last), then granted like a
 * pushed token.  A bad knock gets no answer: it is counted and dropped.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"
#include "control/ident/knock.h"
#include "wire/dpc_proto.h"

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

/*
 * Verifies the token: -1 when refused; else *CNF is its cnf.jwk (RFC
 * 7800; a new reference, or NULL when it binds no key).
 */
static int
cd_knock_token(struct cd *d, const char *tok, size_t len, json_t **cnf)
{
	struct jose_result res;
	struct cd_err e;

	*cnf = NULL;
	if (cd_ident_verify(d, tok, len, &res, &e) < 0)
		return -1;
	*cnf = json_incref(
	    json_object_get(json_object_get(res.claims, "cnf"), "jwk"));
	jose_result_free(&res);
	return 0;
}

static void
cd_knock_grant(struct cd *d, const struct knock_msg *m,
    const struct dpc_msg_knock *k)
{
	char src[INET6_ADDRSTRLEN], svc[KNOCK_SERVICE_MAX + 1];
	struct cd_grant *g;
	struct cd_err e;

	inet_ntop(k->af == 4 ? AF_INET : AF_INET6, k->src, src, sizeof(src));
	snprintf(svc, sizeof(svc), "%.*s", (int)m->service_len, m->service);
	if (cd_sess_grant(d, m->token, m->token_len, src, svc, 0, "knock", &g,
	        &e) < 0)
		cd_log("knock from %s for %s: %s", src, svc, e.msg);
	else
		cd_log("knock from %s: session %u for %s (%s), until %lld", src,
		    g->sid, svc, g->sub, (long long)cd_boot_to_unix(g->ends));
}

/*
 * Someone delivered a knock signed for another address: a captured knock
 * forwarded, or a NAT nobody paired.  Worth a line (cordon-dp's knock
 * limits bound how many reach here).
 */
static void
cd_knock_mismatch(const struct knock_msg *m, const struct dpc_msg_knock *k)
{
	char src[INET6_ADDRSTRLEN], sig[INET6_ADDRSTRLEN];

	inet_ntop(k->af == 4 ? AF_INET : AF_INET6, k->src, src, sizeof(src));
	inet_ntop(m->addr_af == 4 ? AF_INET : AF_INET6, m->addr, sig,
	    sizeof(sig));
	cd_log("knock from %s refused: address-mismatch (signed for %s)", src,
	    sig);
}

void
cd_knock_in(void *arg, const struct dpc_msg_knock *k)
{
	struct cd *d = arg;
	struct knock_ctx *kc = d->sess ? d->sess->knock : NULL;
	struct knock_msg m;
	json_t *cnf;
	int rc;

	if (kc == NULL || (k->af != 4 && k->af != 6))
		return;
	/* The NAT pairings of the running revision (a commit may change). */
	kc->conf.nat = d->run.conf->identity.knock_nat;
	kc->conf.nnat = d->run.conf->identity.nknock_nat;
	rc = knock_check(kc, k->data, k->len, k->af, k->src,
	    clk_unix_s() * 1000 + (clk_mono_ms() % 1000), clk_mono_ms(), &m);
	if (rc == KNOCK_R_ADDR_MISMATCH)
		cd_knock_mismatch(&m, k);
	if (rc != KNOCK_R_OK)
		return;
	/* The token first: only a verified token's cnf key counts. */
	if (cd_knock_token(d, m.token, m.token_len, &cnf) < 0) {
		knock_count(kc, KNOCK_R_TOKEN_REJECTED);
		return;
	}
	/* A cnf key that cannot be imported refuses the knock. */
	rc = knock_finish_jwk(kc, &m, cnf, d->run.conf->identity.knock_pop);
	json_decref(cnf);
	if (rc == KNOCK_R_OK)
		cd_knock_grant(d, &m, k);
}
