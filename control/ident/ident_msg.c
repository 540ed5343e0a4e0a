/*
 * The identity and fetch channels' decoders (ident_msg.h).  Each one
 * checks the exact size of its struct plus the tail it announces, every
 * string (terminated, NUL-padded, no control bytes), every count and
 * enum, and the padding (zero: one encoding per message).  Nothing here
 * knows whether the sender is the parent or a child: both directions are
 * judged alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ident/ident_msg.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"

_Static_assert(IDENT_AUD_MAX == JOSE_AUD_MAX, "audiences");
_Static_assert(IDENT_ALGS_ALL == JOSE_ALGS_ALL, "algorithms");
_Static_assert(IDENT_DOC_MAX == JOSE_JWKS_MAX, "JWKS documents");
_Static_assert(IDENT_DETAIL_MAX == JOSE_DETAIL_MAX, "details");
_Static_assert(IDENT_KNOCK_MAX == KNOCK_MAX_LEN, "knocks");
_Static_assert(IDENT_SVC_MAX == KNOCK_SERVICE_MAX, "services");
_Static_assert(IDENT_NONCE_LEN == KNOCK_NONCE_LEN, "nonces");

static int
ident_bad(void)
{
	errno = EBADMSG;
	return -1;
}

static int
ident_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int
ident_str_ok(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);

	if (nul == NULL)
		return 0;
	for (const char *c = s; c < nul; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	return ident_zero(nul, len - (size_t)(nul - s));
}

/* The struct of HLEN bytes, then a tail of exactly TLEN <= MAX bytes. */
static int
ident_split(const uint8_t *p, size_t len, void *out, size_t hlen,
    const uint8_t **tail)
{
	if (len < hlen)
		return ident_bad();
	memcpy(out, p, hlen);
	if (tail != NULL)
		*tail = p + hlen;
	return 0;
}

static int
ident_tail_ok(size_t len, size_t hlen, uint32_t tlen, uint32_t max)
{
	return tlen <= max && len - hlen == tlen;
}

static int
ident_issuer_ok(const struct ident_msg_issuer *i)
{
	if (!ident_str_ok(i->name, sizeof(i->name)) || i->name[0] == '\0' ||
	    !ident_str_ok(i->iss, sizeof(i->iss)) || i->iss[0] == '\0')
		return 0;
	if (i->naud > IDENT_AUD_MAX)
		return 0;
	for (unsigned a = 0; a < IDENT_AUD_MAX; a++)
		if (!ident_str_ok(i->aud[a], sizeof(i->aud[a])) ||
		    (a < i->naud) != (i->aud[a][0] != '\0'))
			return 0;
	if (i->algs == 0 || (i->algs & ~IDENT_ALGS_ALL) != 0)
		return 0;
	/* Beyond any configurable value: a day, a megabyte, a year. */
	return i->leeway <= 86400 && i->max_token <= IDENT_TOKEN_MAX &&
	       i->max_lifetime <= 366u * 86400;
}

static int
ident_pfx_ok(const struct knock_pfx *p)
{
	size_t alen = p->af == 4 ? 4 : 16;

	if (p->af != 4 && p->af != 6)
		return 0;
	if (p->plen > alen * 8)
		return 0;
	return ident_zero(p->addr + alen, KNOCK_ADDR_LEN - alen);
}

int
ident_dec_config(const uint8_t *p, size_t len, struct ident_msg_config *out)
{
	if (len != sizeof(*out))
		return ident_bad();
	memcpy(out, p, sizeof(*out));
	if (out->niss > IDENT_ISS_MAX || out->knock_on > 1 ||
	    out->knock_pop > 1 || out->nnat > KNOCK_NAT_MAX || out->pad != 0)
		return ident_bad();
	for (unsigned i = 0; i < IDENT_ISS_MAX; i++)
		if (i < out->niss
		        ? !ident_issuer_ok(&out->iss[i])
		        : !ident_zero(&out->iss[i], sizeof(out->iss[i])))
			return ident_bad();
	for (unsigned i = 0; i < KNOCK_NAT_MAX; i++)
		if (i < out->nnat
		        ? !ident_pfx_ok(&out->nat[i].inside) ||
		              !ident_pfx_ok(&out->nat[i].outside)
		        : !ident_zero(&out->nat[i], sizeof(out->nat[i])))
			return ident_bad();
	return 0;
}

int
ident_dec_keys(const uint8_t *p, size_t len, struct ident_msg_keys *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if (out->issuer >= IDENT_ISS_MAX || out->src >= IDENT_KEYS_SRC_MAX ||
	    out->pad != 0 ||
	    !ident_tail_ok(len, sizeof(*out), out->len, IDENT_DOC_MAX))
		return ident_bad();
	return 0;
}

int
ident_dec_keystat(const uint8_t *p, size_t len, struct ident_msg_keystat *out)
{
	if (len != sizeof(*out))
		return ident_bad();
	memcpy(out, p, sizeof(*out));
	/* A document holds at most 64 keys (JOSE_KEYS_MAX), twice merged. */
	if (out->issuer >= IDENT_ISS_MAX || out->src >= IDENT_KEYS_SRC_MAX ||
	    out->nkeys > 128 || out->total > 128 ||
	    !ident_str_ok(out->err, sizeof(out->err)))
		return ident_bad();
	return 0;
}

int
ident_dec_verify(const uint8_t *p, size_t len, struct ident_msg_verify *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if (out->now <= 0 || out->pad != 0 ||
	    !ident_tail_ok(len, sizeof(*out), out->len, IDENT_TOKEN_MAX))
		return ident_bad();
	return 0;
}

/* The verdict's own fields; TLEN: the claims bytes that follow. */
static int
ident_verdict_ok(const struct ident_msg_verdict *v, size_t tlen)
{
	/* No verdict at all (a knock refused before its token). */
	if (v->rc == 0 && v->issuer == -1 && v->claims_len == 0 &&
	    v->exp == 0 && v->alg == 0 && tlen == 0)
		return ident_str_ok(v->detail, sizeof(v->detail));
	if (v->rc < 0 || v->rc >= JOSE_REASON_MAX ||
	    !ident_str_ok(v->detail, sizeof(v->detail)))
		return 0;
	if (v->claims_len != tlen)
		return 0;
	if (v->rc != 0)
		return tlen == 0 && v->issuer == -1 && v->exp == 0;
	return v->issuer >= 0 && v->issuer < IDENT_ISS_MAX && v->alg >= 0 &&
	       v->alg < JOSE_ALG_MAX && v->exp > 0 && tlen >= 2 &&
	       tlen <= IDENT_CLAIMS_MAX;
}

int
ident_dec_verdict(const uint8_t *p, size_t len, struct ident_msg_verdict *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if (!ident_verdict_ok(out, len - sizeof(*out)) ||
	    (out->rc == 0 && out->issuer < 0))
		return ident_bad();
	return 0;
}

int
ident_dec_knock(const uint8_t *p, size_t len, struct ident_msg_knock *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if ((out->af != 4 && out->af != 6) || !ident_zero(out->pad, 3) ||
	    (out->af == 4 && !ident_zero(out->src + 4, 12)) ||
	    out->now_ms <= 0 || out->mono_ms < 0 ||
	    !ident_tail_ok(len, sizeof(*out), out->len, IDENT_KNOCK_MAX))
		return ident_bad();
	return 0;
}

int
ident_dec_knocked(const uint8_t *p, size_t len, struct ident_msg_knocked *out,
    const uint8_t **tail)
{
	size_t tlen;

	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	tlen = len - sizeof(*out);
	if (out->reason < 0 || out->reason >= KNOCK_R_CHILD_MAX ||
	    !ident_zero(out->pad, sizeof(out->pad)) ||
	    !ident_zero(out->pad2, sizeof(out->pad2)) ||
	    !ident_str_ok(out->service, sizeof(out->service)) ||
	    !ident_verdict_ok(&out->v, tlen))
		return ident_bad();
	/* Only a proposal or a refused token carries a verdict. */
	if (out->reason != KNOCK_R_OK &&
	    out->reason != KNOCK_R_TOKEN_REJECTED &&
	    (out->v.rc != 0 || out->v.detail[0] != '\0'))
		return ident_bad();
	if (out->reason == KNOCK_R_TOKEN_REJECTED && out->v.rc == 0)
		return ident_bad();
	if (out->addr_af != 0 && out->addr_af != 4 && out->addr_af != 6)
		return ident_bad();
	/* A proposal names its service, signed address and token. */
	if (out->reason == 0 &&
	    (out->v.rc != 0 || out->v.issuer < 0 || out->addr_af == 0 ||
	        out->service[0] == '\0' || out->timestamp <= 0))
		return ident_bad();
	if (out->reason != 0 && tlen != 0)
		return ident_bad();
	return 0;
}

int
ident_dec_fetch(const uint8_t *p, size_t len, struct ident_msg_fetch *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if (out->issuer >= IDENT_ISS_MAX || out->timeout_ms == 0 ||
	    out->timeout_ms > 60000 || out->pad != 0 ||
	    !ident_str_ok(out->url, sizeof(out->url)) ||
	    strncmp(out->url, "https://", 8) != 0 ||
	    !ident_tail_ok(len, sizeof(*out), out->ca_len, IDENT_CA_MAX))
		return ident_bad();
	return 0;
}

int
ident_dec_doc(const uint8_t *p, size_t len, struct ident_msg_doc *out,
    const uint8_t **tail)
{
	if (ident_split(p, len, out, sizeof(*out), tail) < 0)
		return -1;
	if (out->issuer >= IDENT_ISS_MAX || out->ok > 1 || out->pad != 0 ||
	    !ident_str_ok(out->err, sizeof(out->err)) ||
	    !ident_tail_ok(len, sizeof(*out), out->len, IDENT_DOC_MAX) ||
	    (out->ok == 1) != (out->len > 0))
		return ident_bad();
	return 0;
}

ssize_t
ident_enc(const void *head, size_t hlen, const void *tail, size_t tlen,
    uint8_t **out)
{
	uint8_t *b;

	*out = NULL;
	if (hlen + tlen > PROC_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((b = malloc(hlen + tlen + 1)) == NULL)
		return -1;
	memcpy(b, head, hlen);
	if (tlen)
		memcpy(b + hlen, tail, tlen);
	*out = b;
	return (ssize_t)(hlen + tlen);
}
