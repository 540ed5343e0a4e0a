/*
 * cordond's side of the identity and fetch children (cd_proc_ident*.c,
 * docs/identity.md "Processes").  The children propose; this side
 * decides.  A proposal (the identity child's VERDICT or KNOCKED) is
 * checked against the running config by cd_idprop_check before any
 * session is written: the child is trusted with parsing, never with the
 * outcome.
 */
#ifndef CORDON_CD_PROC_IDENT_H
#define CORDON_CD_PROC_IDENT_H

#include <stdint.h>

#include <jansson.h>

#include "config/load/conf.h"
#include "control/ident/ident_msg.h"

/* cd_idprop.rc when no identity child could answer. */
#define CD_IDENT_DOWN       (-1)
#define CD_IDENT_TIMEOUT_MS 1000 /* a VERIFY's answer */

/* What a token would open, as the parent judged the child's verdict. */
struct cd_idprop {
	int rc; /* enum jose_reason; CD_IDENT_DOWN */
	int issuer;
	int alg;
	int64_t exp;    /* unix seconds */
	json_t *claims; /* owned when rc is JOSE_OK */
	char detail[IDENT_DETAIL_MAX];
};

/*
 * Child verdict V with its CLAIMS bytes (V->claims_len, decoded by
 * ident_dec_verdict) against config C at unix second NOW: a refusal is
 * copied into OUT (0); a proposal is parsed (bounded depth, no duplicate
 * keys) and checked: the issuer is one of C's, the claims' iss is that
 * issuer's, aud holds one of its audiences, alg one it accepts, exp is
 * V's and in the future.  0 with OUT->claims, or -1 (OUT->detail says
 * why): the child broke its word and is not to be believed again.
 */
int cd_idprop_check(const struct conf *c, const struct ident_msg_verdict *v,
    const uint8_t *claims, int64_t now, struct cd_idprop *out);
void cd_idprop_free(struct cd_idprop *p);

#endif
