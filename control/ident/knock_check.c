/*
 * The order the daemon judges a knock in, cheapest and least trusting
 * first: size, the source's rate limit (before any parsing, so a flood
 * costs one hash per datagram), parse, age.  The caller verifies the
 * token in between; then the proof of possession and, last, the replay
 * cache, so only authenticated knocks ever take space in it and forged
 * ones cannot fill it or push the disk.  Every refusal is counted under
 * its reason and nothing is ever sent back.
 */
#include <stdio.h>
#include <string.h>

#include "control/ident/jose.h"
#include "control/ident/knock.h"

#define KNOCK_MAX_AGE_DEFAULT  120
#define KNOCK_LEEWAY_DEFAULT   30
#define KNOCK_RATE_DEFAULT     500 /* one knock per 2 s ... */
#define KNOCK_BURST_DEFAULT    5   /* ... after 5 at once */
#define KNOCK_SLOTS_DEFAULT    4096
#define KNOCK_CAPACITY_DEFAULT 65536

void
knock_conf_defaults(struct knock_conf *c)
{
	if (c->max_age == 0)
		c->max_age = KNOCK_MAX_AGE_DEFAULT;
	if (c->leeway == 0)
		c->leeway = KNOCK_LEEWAY_DEFAULT;
	if (c->rate_milli == 0)
		c->rate_milli = KNOCK_RATE_DEFAULT;
	if (c->burst == 0)
		c->burst = KNOCK_BURST_DEFAULT;
	if (c->rate_slots == 0)
		c->rate_slots = KNOCK_SLOTS_DEFAULT;
	if (c->replay_capacity == 0)
		c->replay_capacity = KNOCK_CAPACITY_DEFAULT;
}

int
knock_ctx_init(struct knock_ctx *k, const struct knock_conf *c, int64_t now,
    char *err, size_t errlen)
{
	*k = (struct knock_ctx){ .conf = *c };
	knock_conf_defaults(&k->conf);
	k->rate = knock_rate_new(k->conf.rate_slots, k->conf.rate_milli,
	    k->conf.burst);
	if (k->rate == NULL) {
		snprintf(err, errlen, "knock rate table: no memory");
		return -1;
	}
	k->replay = knock_replay_open(k->conf.replay_path,
	    k->conf.replay_capacity, now, err, errlen);
	if (k->replay == NULL) {
		knock_rate_free(k->rate);
		k->rate = NULL;
		return -1;
	}
	return 0;
}

void
knock_ctx_fini(struct knock_ctx *k)
{
	knock_rate_free(k->rate);
	knock_replay_close(k->replay);
	k->rate = NULL;
	k->replay = NULL;
}

void
knock_count(struct knock_ctx *k, int reason)
{
	if (reason >= 0 && reason < KNOCK_R_MAX)
		k->counters[reason]++;
}

static int
knock_check_time(const struct knock_ctx *k, const struct knock_msg *m,
    int64_t now)
{
	if (m->timestamp < now - (int64_t)k->conf.max_age)
		return KNOCK_R_STALE;
	if (m->timestamp > now + (int64_t)k->conf.leeway)
		return KNOCK_R_FUTURE;
	return KNOCK_R_OK;
}

bool
knock_pfx_has(const struct knock_pfx *p, int af, const uint8_t *addr)
{
	unsigned full = p->plen / 8, rest = p->plen % 8;

	if (p->af != af)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ addr[full]) &
	                        (uint8_t)(0xff << (8 - rest))) == 0;
}

/*
 * The address the sender signed must be the one the knock came from,
 * or the administrator must have allowed that NAT: otherwise whoever
 * sees a knock could deliver it from its own address first.
 */
static int
knock_check_addr(const struct knock_ctx *k, const struct knock_msg *m, int af,
    const uint8_t src[16])
{
	if (m->addr_af == af && memcmp(m->addr, src, af == 4 ? 4 : 16) == 0)
		return KNOCK_R_OK;
	for (uint32_t i = 0; i < k->conf.nnat; i++)
		if (knock_pfx_has(&k->conf.nat[i].inside, m->addr_af,
		        m->addr) &&
		    knock_pfx_has(&k->conf.nat[i].outside, af, src))
			return KNOCK_R_OK;
	return KNOCK_R_ADDR_MISMATCH;
}

int
knock_check(struct knock_ctx *k, const uint8_t *buf, size_t len, int af,
    const uint8_t src[16], int64_t now_ms, int64_t mono_ms,
    struct knock_msg *out)
{
	int rc;

	if (len < KNOCK_HDR_LEN || len > KNOCK_MAX_LEN)
		rc = KNOCK_R_SIZE;
	else if (!knock_rate_allow(k->rate, af, src, mono_ms))
		rc = KNOCK_R_RATE;
	else if ((rc = knock_parse(buf, len, out)) == KNOCK_R_OK &&
	         (rc = knock_check_time(k, out, now_ms / 1000)) == KNOCK_R_OK)
		rc = knock_check_addr(k, out, af, src);
	if (rc != KNOCK_R_OK) {
		k->counters[rc]++;
		return rc;
	}
	out->rx_ms = now_ms;
	return KNOCK_R_OK;
}

/*
 * A token that binds a key (cnf) is only good with a proof that the
 * sender holds it, whatever POP_REQUIRED says: otherwise binding the
 * key would protect nothing.
 */
int
knock_finish_pop(const struct knock_msg *m, EVP_PKEY *cnf_key, int alg,
    bool pop_required)
{
	if (!(m->flags & KNOCK_FLAG_POP))
		return pop_required || cnf_key ? KNOCK_R_POP_MISSING
		                               : KNOCK_R_OK;
	if (cnf_key == NULL)
		return KNOCK_R_POP_NO_KEY;
	return knock_pop_verify(m, cnf_key, alg) == 0 ? KNOCK_R_OK
	                                              : KNOCK_R_POP_BAD;
}

int
knock_replay_judge(struct knock_ctx *k, const uint8_t nonce[KNOCK_NONCE_LEN],
    int64_t timestamp, int64_t now)
{
	/*
	 * Not the running max_age: a commit (or a restart with another
	 * configuration) may raise it, and a nonce forgotten under the old
	 * one would be fresh again under the new.
	 */
	int64_t expires = timestamp + KNOCK_MAX_AGE_LIMIT + k->conf.leeway;

	switch (knock_replay_check_and_add(k->replay, nonce, expires, now)) {
	case KNOCK_REPLAY_OK:
		return KNOCK_R_OK;
	case KNOCK_REPLAY_SEEN:
		return KNOCK_R_REPLAY;
	case KNOCK_REPLAY_FULL:
		return KNOCK_R_REPLAY_FULL;
	}
	return KNOCK_R_REPLAY_IO;
}

int
knock_finish(struct knock_ctx *k, const struct knock_msg *m, EVP_PKEY *cnf_key,
    int alg, bool pop_required)
{
	int rc = knock_finish_pop(m, cnf_key, alg, pop_required);

	if (rc == KNOCK_R_OK)
		rc = knock_replay_judge(k, m->nonce, m->timestamp,
		    m->rx_ms / 1000);
	k->counters[rc]++;
	return rc;
}

int
knock_pop_jwk(const struct knock_msg *m, struct json_t *cnf_jwk,
    bool pop_required)
{
	enum jose_alg alg;
	char err[JOSE_DETAIL_MAX];
	EVP_PKEY *key;
	int rc;

	if (cnf_jwk == NULL)
		return knock_finish_pop(m, NULL, KNOCK_ALG_ANY, pop_required);
	if ((key = jose_jwk_to_pkey(cnf_jwk, &alg, err, sizeof(err))) == NULL)
		return KNOCK_R_CNF_KEY;
	rc = knock_finish_pop(m, key, (int)alg, pop_required);
	EVP_PKEY_free(key);
	return rc;
}

int
knock_finish_jwk(struct knock_ctx *k, const struct knock_msg *m,
    struct json_t *cnf_jwk, bool pop_required)
{
	int rc = knock_pop_jwk(m, cnf_jwk, pop_required);

	if (rc == KNOCK_R_OK)
		rc = knock_replay_judge(k, m->nonce, m->timestamp,
		    m->rx_ms / 1000);
	k->counters[rc]++;
	return rc;
}
