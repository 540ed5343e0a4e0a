/*
 * The identity child (`cordond -P identity`, docs/identity.md
 * "Processes"): every byte from outside that proves who someone is, a
 * token, a knock, a proof-of-possession signature, a JWKS document, is
 * parsed here, in a process with no privileges, no network, an empty
 * root and a short system-call list.  It decides nothing: it answers the
 * parent with a proposal (issuer, algorithm, exp, claims) that the
 * parent checks against its own running config before any session.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ident/ident_msg.h"
#include "control/ident/ident_proc.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"

static struct ident_state ident_st;

void
ident_state_clear(struct ident_state *s)
{
	for (unsigned i = 0; i < IDENT_ISS_MAX; i++) {
		jose_issuer_clear(&s->iss[i]);
		for (unsigned k = 0; k < IDENT_KEYS_SRC_MAX; k++) {
			jose_keyset_free(s->keys[i][k]);
			s->keys[i][k] = NULL;
		}
	}
	s->niss = 0;
	if (s->knock_on)
		knock_rate_free(s->knock.rate);
	memset(&s->knock, 0, sizeof(s->knock));
	s->knock_on = false;
}

static void
ident_issuer_set(struct jose_issuer *j, const struct ident_msg_issuer *m)
{
	memset(j, 0, sizeof(*j));
	memcpy(j->name, m->name, sizeof(j->name));
	memcpy(j->iss, m->iss, sizeof(j->iss));
	j->naud = m->naud;
	memcpy(j->aud, m->aud, sizeof(j->aud));
	j->algs = m->algs;
	j->leeway = m->leeway;
	j->max_token = m->max_token;
	j->max_lifetime = m->max_lifetime;
}

int
ident_config(struct ident_state *s, const struct ident_msg_config *c)
{
	ident_state_clear(s);
	s->niss = c->niss;
	for (unsigned i = 0; i < c->niss; i++)
		ident_issuer_set(&s->iss[i], &c->iss[i]);
	s->pop = c->knock_pop != 0;
	memcpy(s->nat, c->nat, sizeof(s->nat));
	if (!c->knock_on)
		return 0;
	s->knock.conf.max_age = c->knock_max_age;
	s->knock.conf.rate_milli = c->knock_rate_milli;
	s->knock.conf.burst = c->knock_burst;
	s->knock.conf.nat = s->nat;
	s->knock.conf.nnat = c->nnat;
	knock_conf_defaults(&s->knock.conf);
	s->knock.rate = knock_rate_new(s->knock.conf.rate_slots,
	    s->knock.conf.rate_milli, s->knock.conf.burst);
	if (s->knock.rate == NULL)
		return -1;
	s->knock_on = true;
	return 0;
}

/* ISSUER's keys: its file's and its last good fetch's, merged. */
int
ident_keys(struct ident_state *s, const struct ident_msg_keys *k,
    const uint8_t *doc, struct ident_msg_keystat *st)
{
	struct jose_keyset *ks = NULL, **slot;
	struct jose_issuer *j;

	memset(st, 0, sizeof(*st));
	st->issuer = k->issuer;
	st->src = k->src;
	if (k->issuer >= s->niss) {
		snprintf(st->err, sizeof(st->err), "no issuer %u", k->issuer);
		return -1;
	}
	j = &s->iss[k->issuer];
	slot = &s->keys[k->issuer][k->src];
	if (k->len > 0 && (ks = jose_keyset_parse((const char *)doc, k->len,
	                       st->err, sizeof(st->err))) == NULL) {
		/* The last good set stays (a file's is replaced by none). */
		if (k->src == IDENT_KEYS_FILE) {
			jose_keyset_free(*slot);
			*slot = NULL;
		}
	} else {
		jose_keyset_free(*slot);
		*slot = ks;
		st->nkeys = jose_keyset_count(ks);
	}
	jose_keyset_free(j->keys);
	j->keys = jose_keyset_merge(s->keys[k->issuer][IDENT_KEYS_FILE],
	    s->keys[k->issuer][IDENT_KEYS_URI]);
	st->total = jose_keyset_count(j->keys);
	return ks != NULL || k->len == 0 ? 0 : -1;
}

/* The claims as compact JSON into a malloc'd *OUT; a reason. */
static int
ident_claims(json_t *claims, char **out, size_t *len, char *detail, size_t dlen)
{
	*out = json_dumps(claims, JSON_COMPACT);
	if (*out == NULL) {
		snprintf(detail, dlen, "claims could not be written");
		return JOSE_INTERNAL;
	}
	*len = strlen(*out);
	if (*len > IDENT_CLAIMS_MAX) {
		snprintf(detail, dlen, "claims over %u bytes",
		    IDENT_CLAIMS_MAX);
		free(*out);
		*out = NULL;
		return JOSE_TOO_LARGE;
	}
	return JOSE_OK;
}

/*
 * TOK verified at NOW into V and *CLAIMS (malloc'd, V->claims_len
 * bytes); *CNF the claims' cnf.jwk (a reference) when CNF is not NULL.
 */
int
ident_verify(struct ident_state *s, const char *tok, size_t len, int64_t now,
    struct ident_msg_verdict *v, char **claims, json_t **cnf)
{
	struct jose_result res;
	size_t clen = 0;
	double exp;
	int rc;

	memset(v, 0, sizeof(*v));
	*claims = NULL;
	rc = jose_verify(s->iss, s->niss, tok, len, now, &res);
	snprintf(v->detail, sizeof(v->detail), "%s", res.detail);
	if (rc == JOSE_OK) {
		exp = json_number_value(json_object_get(res.claims, "exp"));
		v->exp = exp >= 1 && exp < 1e12 ? (int64_t)exp : 0;
		/* The leeway forgives clock skew; it adds no lifetime. */
		if (v->exp <= now) {
			snprintf(v->detail, sizeof(v->detail),
			    "exp is %lld s ago, accepted only within the "
			    "leeway: a session would be expired at once",
			    (long long)(now - v->exp));
			rc = JOSE_LEEWAY_ONLY;
		}
	}
	if (rc == JOSE_OK)
		rc = ident_claims(res.claims, claims, &clen, v->detail,
		    sizeof(v->detail));
	if (rc == JOSE_OK && cnf != NULL)
		*cnf = json_incref(
		    json_object_get(json_object_get(res.claims, "cnf"), "jwk"));
	v->rc = rc;
	v->issuer = rc == JOSE_OK ? res.issuer : -1;
	v->alg = rc == JOSE_OK ? (int32_t)res.alg : 0;
	v->claims_len = (uint32_t)clen;
	if (rc != JOSE_OK)
		v->exp = 0;
	jose_result_free(&res);
	return rc;
}

static void
ident_knock_fill(struct ident_msg_knocked *o, const struct knock_msg *m)
{
	o->addr_af = m->addr_af;
	memcpy(o->addr, m->addr, sizeof(o->addr));
	memcpy(o->nonce, m->nonce, sizeof(o->nonce));
	o->timestamp = m->timestamp;
	snprintf(o->service, sizeof(o->service), "%.*s", (int)m->service_len,
	    m->service);
}

/*
 * One knock judged up to the proof of possession into O (and *CLAIMS
 * for a proposal).  The knock's bytes are DATA; nothing points into
 * them once this returns.
 */
int
ident_knock(struct ident_state *s, const struct ident_msg_knock *k,
    const uint8_t *data, struct ident_msg_knocked *o, char **claims)
{
	struct knock_msg m;
	json_t *cnf = NULL;
	int rc;

	memset(o, 0, sizeof(*o));
	o->v.issuer = -1;
	*claims = NULL;
	if (!s->knock_on) {
		o->reason = KNOCK_R_SIZE;
		return o->reason;
	}
	rc = knock_check(&s->knock, data, k->len, k->af, k->src, k->now_ms,
	    k->mono_ms, &m);
	if (rc == KNOCK_R_OK || rc == KNOCK_R_ADDR_MISMATCH)
		ident_knock_fill(o, &m);
	if (rc != KNOCK_R_OK) {
		o->reason = rc;
		return rc;
	}
	if (ident_verify(s, m.token, m.token_len, k->now_ms / 1000, &o->v,
	        claims, &cnf) != JOSE_OK) {
		o->reason = KNOCK_R_TOKEN_REJECTED;
		o->v.issuer = -1;
		return o->reason;
	}
	o->reason = knock_pop_jwk(&m, cnf, s->pop);
	json_decref(cnf);
	if (o->reason != KNOCK_R_OK) {
		memset(&o->v, 0, sizeof(o->v));
		o->v.issuer = -1;
		free(*claims);
		*claims = NULL;
	}
	return o->reason;
}

/* Sends HEAD and TAIL as one message; a failure ends the child. */
void
ident_reply(int fd, uint16_t type, uint32_t id, const void *head, size_t hlen,
    const void *tail, size_t tlen)
{
	uint8_t *b;
	ssize_t n = ident_enc(head, hlen, tail, tlen, &b);

	if (n < 0 || proc_send(fd, type, id, b, (size_t)n, -1) < 0)
		_exit(1);
	free(b);
}

#ifdef CORDON_TEST_SYSCALL
#include <sys/syscall.h>
/*
 * Test builds only (make CORDON_TEST_SYSCALL=1, build/tests/cordond-
 * testsys): this token makes the child call mount(2), which its seccomp
 * list refuses by killing it (tests/ident/test_ident_proc.py).
 */
#define IDENT_TEST_MARKER "cordon-test-forbidden-syscall"
static void
ident_test_syscall(const uint8_t *tok, size_t len)
{
	if (len == strlen(IDENT_TEST_MARKER) &&
	    memcmp(tok, IDENT_TEST_MARKER, len) == 0)
		syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
}
#else
#define ident_test_syscall(tok, len) ((void)(tok), (void)(len))
#endif

static void
ident_on_verify(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	struct ident_msg_verify m;
	struct ident_msg_verdict v;
	const uint8_t *tok;
	char *claims = NULL;

	if (ident_dec_verify(p, h->len, &m, &tok) < 0) {
		memset(&v, 0, sizeof(v));
		v.rc = JOSE_INTERNAL;
		v.issuer = -1;
		snprintf(v.detail, sizeof(v.detail), "malformed request");
	} else {
		ident_test_syscall(tok, m.len);
		ident_verify(&ident_st, (const char *)tok, m.len, m.now, &v,
		    &claims, NULL);
	}
	ident_reply(fd, IDENT_T_VERDICT, h->id, &v, sizeof(v), claims,
	    v.claims_len);
	free(claims);
}

static void
ident_on_knock(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	struct ident_msg_knock m;
	struct ident_msg_knocked o;
	const uint8_t *data;
	char *claims = NULL;

	if (ident_dec_knock(p, h->len, &m, &data) < 0) {
		memset(&o, 0, sizeof(o));
		o.reason = KNOCK_R_SIZE;
		o.v.issuer = -1;
	} else {
		ident_knock(&ident_st, &m, data, &o, &claims);
	}
	ident_reply(fd, IDENT_T_KNOCKED, h->id, &o, sizeof(o), claims,
	    o.v.claims_len);
	free(claims);
}

static void
ident_on_keys(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	struct ident_msg_keys k;
	struct ident_msg_keystat st;
	const uint8_t *doc;

	if (ident_dec_keys(p, h->len, &k, &doc) < 0) {
		proc_log(fd, "identity: malformed KEYS refused");
		return;
	}
	ident_keys(&ident_st, &k, doc, &st);
	ident_reply(fd, IDENT_T_KEYSTAT, h->id, &st, sizeof(st), NULL, 0);
}

/* One message from the parent; -1 ends the child. */
int
ident_dispatch(int fd, const struct proc_hdr *h, const uint8_t *p)
{
	struct ident_msg_config c;

	switch (h->type) {
	case IDENT_T_CONFIG:
		if (ident_dec_config(p, h->len, &c) < 0 ||
		    ident_config(&ident_st, &c) < 0) {
			proc_log(fd, "identity: configuration refused");
			return -1;
		}
		return 0;
	case IDENT_T_KEYS:
		ident_on_keys(fd, h, p);
		return 0;
	case IDENT_T_VERIFY:
		ident_on_verify(fd, h, p);
		return 0;
	case IDENT_T_KNOCK:
		ident_on_knock(fd, h, p);
		return 0;
	}
	proc_log(fd, "identity: message type %u refused", h->type);
	return 0;
}

int
ident_chan_loop(int fd, ident_handler_fn fn)
{
	static uint8_t buf[PROC_MSG_MAX];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct proc_hdr h;
	ssize_t n;
	int pass;

	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return 1;
		n = proc_recv(fd, &h, buf, sizeof(buf), &pass);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? 0 : 1;
		if (pass >= 0)
			close(pass);
		if (fn(fd, &h, buf) < 0)
			return 1;
	}
}
