/*
 * The parent's check of an identity child's proposal (cd_proc_ident.h).
 * It repeats, against the running config, every fact a session rests
 * on that the child could lie about without a signature to show: which
 * issuer, for whom (aud), with what algorithm, until when.  It cannot
 * re-check the signature (that needs the keys the child parsed); it can
 * make sure a compromised child can only grant what a valid token of a
 * configured issuer would grant anyway.  Pure: fuzzed by
 * tests/fuzz/fuzz_proc_ident.c.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/ident/jose.h"

static int
cd_idprop_bad(struct cd_idprop *p, const char *why)
{
	json_decref(p->claims);
	p->claims = NULL;
	p->rc = JOSE_INTERNAL;
	snprintf(p->detail, sizeof(p->detail), "identity process: %s", why);
	return -1;
}

static int
cd_idprop_aud(const struct conf_issuer *ci, const json_t *aud)
{
	size_t i;
	json_t *a;

	if (ci->naud == 0)
		return 1;
	for (unsigned k = 0; k < ci->naud; k++) {
		if (json_is_string(aud) &&
		    strcmp(json_string_value(aud), ci->aud[k]) == 0)
			return 1;
		json_array_foreach(aud, i, a)
			if (json_is_string(a) &&
			    strcmp(json_string_value(a), ci->aud[k]) == 0)
				return 1;
	}
	return 0;
}

/* The claims' exp as the verifier read it: a number, whole seconds. */
static int64_t
cd_idprop_exp(const json_t *claims)
{
	const json_t *e = json_object_get(claims, "exp");
	double x = json_number_value(e);

	if (!json_is_number(e) || !(x >= 1 && x < 1e12))
		return 0;
	return (int64_t)x;
}

int
cd_idprop_check(const struct conf *c, const struct ident_msg_verdict *v,
    const uint8_t *claims, int64_t now, struct cd_idprop *out)
{
	const struct conf_issuer *ci;
	const char *iss;
	int why;

	memset(out, 0, sizeof(*out));
	out->rc = v->rc;
	out->issuer = -1;
	snprintf(out->detail, sizeof(out->detail), "%s", v->detail);
	if (v->rc != JOSE_OK)
		return 0;
	if (v->issuer < 0 || (unsigned)v->issuer >= c->identity.nissuers)
		return cd_idprop_bad(out, "no such issuer");
	ci = &c->identity.issuers[v->issuer];
	out->claims =
	    jose_json_object((const char *)claims, v->claims_len, &why);
	if (out->claims == NULL)
		return cd_idprop_bad(out, "claims are not a JSON object");
	iss = json_string_value(json_object_get(out->claims, "iss"));
	if (iss == NULL || strcmp(iss, ci->iss) != 0)
		return cd_idprop_bad(out, "claims' iss is not the issuer's");
	if (!cd_idprop_aud(ci, json_object_get(out->claims, "aud")))
		return cd_idprop_bad(out, "claims' aud is not the issuer's");
	if (v->alg < 0 || v->alg >= JOSE_ALG_MAX ||
	    !(ci->algs & JOSE_ALG_BIT(v->alg)))
		return cd_idprop_bad(out, "algorithm not allowed");
	if (cd_idprop_exp(out->claims) != v->exp)
		return cd_idprop_bad(out, "exp is not the claims'");
	/* Expired meanwhile: an ordinary refusal, not a lie. */
	if (v->exp <= now) {
		json_decref(out->claims);
		out->claims = NULL;
		out->rc = JOSE_LEEWAY_ONLY;
		snprintf(out->detail, sizeof(out->detail),
		    "exp has passed: a session would be expired at once");
		return 0;
	}
	out->issuer = v->issuer;
	out->alg = v->alg;
	out->exp = v->exp;
	return 0;
}

void
cd_idprop_free(struct cd_idprop *p)
{
	json_decref(p->claims);
	p->claims = NULL;
}
