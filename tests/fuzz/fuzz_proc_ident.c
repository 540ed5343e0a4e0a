/*
 * libFuzzer harness for cordond's receiver of the identity and fetch
 * children's messages: a compromised child may send any bytes.  Byte 0
 * picks the type (KEYSTAT, VERDICT, KNOCKED, DOC), the rest is the
 * payload, copied to a buffer of exactly its size (ASan sees any read
 * past it).  A payload that decodes and carries a proposal goes through
 * the parent's check (cd_idprop_check) against a fixed configuration;
 * whatever it accepts must be what a session may rest on: a JSON object
 * whose iss is the issuer's, an aud of the issuer's, an algorithm the
 * issuer allows, exp the claims' own and in the future.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/ident/ident_msg.h"
#include "control/ident/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000LL

static struct conf fuzz_conf;

static void
fuzz_conf_init(void)
{
	struct conf_issuer *ci;

	fuzz_conf.identity.nissuers = 2;
	for (unsigned i = 0; i < 2; i++) {
		ci = &fuzz_conf.identity.issuers[i];
		strcpy(ci->name, i ? "other" : "corp");
		strcpy(ci->iss, i ? "https://b.test" : "https://a.test");
		ci->naud = 1;
		strcpy(ci->aud[0], "cordon");
		ci->algs = JOSE_ALG_BIT(JOSE_ALG_ES256) |
		           JOSE_ALG_BIT(JOSE_ALG_EDDSA);
	}
}

static void
fuzz_accepted(const struct ident_msg_verdict *v, const struct cd_idprop *p)
{
	const struct conf_issuer *ci;
	const json_t *aud;
	const char *iss;

	if (p->rc != JOSE_OK)
		return;
	if (p->issuer < 0 || p->issuer >= 2 || p->claims == NULL ||
	    !json_is_object(p->claims) || p->exp <= FUZZ_NOW ||
	    p->exp != v->exp)
		abort();
	ci = &fuzz_conf.identity.issuers[p->issuer];
	iss = json_string_value(json_object_get(p->claims, "iss"));
	if (iss == NULL || strcmp(iss, ci->iss) != 0)
		abort();
	if (!(ci->algs & JOSE_ALG_BIT(p->alg)))
		abort();
	aud = json_object_get(p->claims, "aud");
	if (!json_is_string(aud) && !json_is_array(aud))
		abort();
}

static void
fuzz_verdict(const struct ident_msg_verdict *v, const uint8_t *claims)
{
	struct cd_idprop p;
	int rc = cd_idprop_check(&fuzz_conf, v, claims, FUZZ_NOW, &p);

	if (rc == 0)
		fuzz_accepted(v, &p);
	else if (p.claims != NULL || p.rc != JOSE_INTERNAL)
		abort(); /* a lie leaves nothing to grant */
	cd_idprop_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ident_msg_verdict v;
	struct ident_msg_knocked k;
	struct ident_msg_keystat ks;
	struct ident_msg_doc d;
	const uint8_t *tail;
	uint8_t *buf;
	size_t n;

	if (fuzz_conf.identity.nissuers == 0)
		fuzz_conf_init();
	if (size < 1)
		return 0;
	n = size - 1;
	if ((buf = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(buf, data + 1, n);
	switch (data[0] % 4) {
	case 0:
		(void)ident_dec_keystat(buf, n, &ks);
		break;
	case 1:
		if (ident_dec_verdict(buf, n, &v, &tail) == 0) {
			if (tail + v.claims_len != buf + n)
				abort();
			fuzz_verdict(&v, tail);
		}
		break;
	case 2:
		if (ident_dec_knocked(buf, n, &k, &tail) == 0) {
			if (k.reason == 0 && k.service[0] == '\0')
				abort();
			fuzz_verdict(&k.v, tail);
		}
		break;
	case 3:
		if (ident_dec_doc(buf, n, &d, &tail) == 0 &&
		    (d.len > IDENT_DOC_MAX || tail + d.len != buf + n))
			abort();
		break;
	}
	free(buf);
	return 0;
}
