/*
 * Granting, listing, expiring and persisting sessions.  A grant is
 * judged once here (token verified, principals located, rule bits
 * computed) and then enforced by the fast path alone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cd_proc_ident.h"
#include "control/daemon/cordond.h"

uint64_t
cd_svcs_remap(const struct conf *from, const struct conf *to, uint64_t svcs)
{
	uint64_t out = 0;
	int j;

	for (unsigned i = 0; i < from->nservices && i < 64; i++) {
		if (!((svcs >> i) & 1))
			continue;
		j = conf_service_find(to, from->services[i].name);
		if (j >= 0 && ((to->identity.services >> j) & 1))
			out |= 1ULL << j;
	}
	return out;
}

static int
cd_addr_parse(const char *s, uint8_t *af, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*af = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*af = 6;
		return 0;
	}
	return -1;
}

geo_cc_t
cd_grant_cc(const struct geo_tables *t, const struct cd_grant *g)
{
	uint32_t a4;

	if (g->af == 4) {
		memcpy(&a4, g->addr, 4);
		return geo_lookup4(t, ntohl(a4));
	}
	return geo_lookup6(t, g->addr);
}

/* The services a grant opens: one named, or every identity service. */
static int
cd_grant_svcs(const struct conf *c, const char *svc, uint64_t *out,
    struct cd_err *e)
{
	int i;

	if (svc == NULL || *svc == '\0') {
		*out = c->identity.services;
		return 0;
	}
	if ((i = conf_service_find(c, svc)) < 0 ||
	    !((c->identity.services >> i) & 1))
		return cd_fail(e, "bad-request",
		    "service \"%s\" is not in "
		    "identity.services",
		    svc);
	*out = 1ULL << i;
	return 0;
}

static void
cd_grant_names(struct cd_grant *g, const json_t *claims)
{
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *jti = json_string_value(json_object_get(claims, "jti"));

	snprintf(g->sub, sizeof(g->sub), "%s", sub ? sub : "");
	snprintf(g->jti, sizeof(g->jti), "%s", jti ? jti : "");
}

int64_t
cd_grant_expiry(const struct conf *c, const json_t *claims, unsigned ttl,
    int64_t born, int64_t now_unix, int64_t now_boot)
{
	int64_t exp = cd_ident_exp(claims, now_unix) - now_unix + now_boot;
	int64_t lim = born + c->identity.max_ttl;

	if (ttl && born + ttl < lim)
		lim = born + ttl;
	return exp < lim ? exp : lim;
}

static int
cd_journal_refused(struct cd_err *e)
{
	return cd_fail(e, "internal",
	    "sessions journal: %s: the session is "
	    "not granted",
	    strerror(errno));
}

/* Installs G (facts built) into the table and the grant list. */
static int
cd_grant_install(struct cd *d, struct cd_grant *g, struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	struct pol_set bits;
	int slot = cd_sess_slot(s), rc;

	if (slot < 0) {
		s->full++;
		return cd_fail(e, "session-table-full",
		    "session table full "
		    "(%u sessions): refused",
		    s->cap);
	}
	g->ident = (uint32_t)slot;
	if (g->sid == 0)
		g->sid = s->next_sid++;
	/* Durable before the fast path or the client may learn of it. */
	if (cd_journal_add(d, g) < 0) {
		cd_sess_free_slot(s, g->ident);
		return cd_journal_refused(e);
	}
	idm_rule_bits(d->run.conf, &g->facts, &bits);
	if ((rc = cd_grant_put(s->t, g, &bits)) != 0) {
		cd_grant_unput(s->t, g);
		cd_sess_free_slot(s, g->ident);
		cd_journal_del(s, g->sid);
		if (rc == -ENOSPC)
			s->full++;
		return cd_fail(e,
		    rc == -ENOSPC ? "session-table-full" : "internal",
		    "session table: %s", strerror(-rc));
	}
	s->g[slot] = g;
	cd_idx_link(s, g);
	cd_grant_nft(d, g, true);
	s->n++;
	s->added++;
	cd_sess_watermark(s);
	return 0;
}

/*
 * A new grant for the same source and services replaces the old one.
 * One subject may hold sessions.per_subject grants at most: a single
 * token (a knock can come from any source address) cannot fill the
 * table.  -1 with E when over the quota.
 */
static int
cd_grant_supersede(struct cd *d, const struct cd_grant *n, struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	struct cd_grant *g, *next;
	unsigned mine = 0;

	for (g = cd_idx_src(s, n->addr, n->af); g != NULL; g = next) {
		next = cd_idx_next(s, g->src_next);
		if (g->af == n->af && memcmp(g->addr, n->addr, 16) == 0 &&
		    (g->svcs & n->svcs) != 0)
			cd_sess_drop(s, g, true);
	}
	for (g = cd_idx_sub(s, n->iss_name, n->sub); g != NULL;
	     g = cd_idx_next(s, g->sub_next))
		if (strcmp(g->sub, n->sub) == 0 &&
		    strcmp(g->iss_name, n->iss_name) == 0)
			mine++;
	if (mine >= d->run.conf->identity.per_subject) {
		s->quota++;
		return cd_fail(e, "session-quota",
		    "%s already holds %u "
		    "sessions (identity.sessions.per_subject)",
		    n->sub, mine);
	}
	return 0;
}

int
cd_sess_grant(struct cd *d, const char *token, size_t len, const char *src,
    const char *svc, unsigned ttl, const char *via, struct cd_grant **out,
    struct cd_err *e)
{
	struct cd_idprop p;
	uint8_t af, addr[16];
	uint64_t svcs;
	int rc;

	if (d->sess == NULL)
		return cd_fail(e, "bad-request",
		    "no identity group configured");
	/* The request's own mistakes first, as before a token is judged. */
	if (cd_addr_parse(src, &af, addr) < 0)
		return cd_fail(e, "bad-request", "src: not an address: %.64s",
		    src);
	if (cd_grant_svcs(d->run.conf, svc, &svcs, e) < 0)
		return -1;
	if (cd_ident_verify(d, token, len, &p, e) < 0)
		return -1;
	rc = cd_sess_grant_prop(d, &p, src, svc, ttl, via, out, e);
	cd_idprop_free(&p);
	return rc;
}

int
cd_sess_grant_prop(struct cd *d, const struct cd_idprop *p, const char *src,
    const char *svc, unsigned ttl, const char *via, struct cd_grant **out,
    struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	const struct conf *c = d->run.conf;
	struct cd_grant *g;
	int64_t now = clk_boot_s(), now_unix = clk_unix_s();
	int rc;

	if (s == NULL)
		return cd_fail(e, "bad-request",
		    "no identity group configured");
	/* cd_idprop_check made it; the config may have changed since. */
	if (p->rc != JOSE_OK || p->claims == NULL || p->issuer < 0 ||
	    (unsigned)p->issuer >= c->identity.nissuers)
		return cd_ident_refuse(d, JOSE_ISSUER_UNKNOWN,
		    "the issuer left the configuration", e);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return cd_fail(e, "internal", "out of memory");
	if (cd_addr_parse(src, &g->af, g->addr) < 0) {
		free(g);
		return cd_fail(e, "bad-request", "src: not an address: %.64s",
		    src);
	}
	if (cd_grant_svcs(c, svc, &g->svcs, e) < 0) {
		free(g);
		return -1;
	}
	g->claims = json_incref(p->claims);
	snprintf(g->iss_name, sizeof(g->iss_name), "%s",
	    c->identity.issuers[p->issuer].name);
	rc = idm_facts_build(c, d->run.geo.tables, g->claims, p->issuer,
	    cd_grant_cc(d->run.geo.tables, g), &g->facts);
	if (rc != IDM_E_OK) {
		s->refused++;
		cd_grant_free(g);
		return cd_fail(e, "token-refused",
		    "%s: the act chain is deeper "
		    "than identity.claims.act_depth or malformed",
		    idm_err_name((unsigned)rc));
	}
	inet_ntop(g->af == 4 ? AF_INET : AF_INET6, g->addr, g->src,
	    sizeof(g->src));
	cd_grant_names(g, g->claims);
	g->created = now_unix;
	g->born = now;
	g->ends = cd_grant_expiry(c, g->claims, ttl, now, now_unix, now);
	/* The proposal's exp was in the future; a second may have passed. */
	if (g->ends <= now) {
		cd_grant_free(g);
		return cd_ident_refuse(d, JOSE_LEEWAY_ONLY,
		    "exp has passed: "
		    "a session would be expired at once",
		    e);
	}
	snprintf(g->via, sizeof(g->via), "%s", via);
	/* A full disk must not cost the session this one would replace. */
	if (cd_journal_room(d, g) < 0) {
		cd_grant_free(g);
		return cd_journal_refused(e);
	}
	if (cd_grant_supersede(d, g, e) < 0 || cd_grant_install(d, g, e) < 0) {
		cd_grant_free(g);
		return -1;
	}
	cd_syslog_event(d, "session-grant", "identity session granted", "id",
	    CD_SL_U(g->sid), "sub", g->sub, "src", g->src, "issuer",
	    g->iss_name, "via", via, "actors", CD_SL_U(g->facts.n - 1),
	    "expires", CD_SL_U(cd_boot_to_unix(g->ends)), NULL);
	*out = g;
	return 0;
}

int
cd_sess_restore(struct cd *d, struct cd_grant *g, int issuer, const json_t *o,
    struct cd_err *e)
{
	const char *via = json_string_value(json_object_get(o, "via"));
	const char *iss = json_string_value(json_object_get(g->claims, "iss"));

	/* The journal is trusted no further than the token it recorded. */
	if (iss == NULL ||
	    strcmp(iss, d->run.conf->identity.issuers[issuer].iss) != 0 ||
	    g->ends > g->born + d->run.conf->identity.max_ttl)
		return cd_fail(e, "internal", "journal entry inconsistent");
	/* Its exp as the wall clock judges it now. */
	if (cd_sess_clock(d, g, clk_unix_s(), clk_boot_s(), false))
		return cd_fail(e, "internal", "journal entry expired");
	if (cd_addr_parse(g->src, &g->af, g->addr) < 0 ||
	    idm_facts_build(d->run.conf, d->run.geo.tables, g->claims, issuer,
	        cd_grant_cc(d->run.geo.tables, g), &g->facts) != IDM_E_OK)
		return cd_fail(e, "internal", "journal entry unusable");
	snprintf(g->iss_name, sizeof(g->iss_name), "%s",
	    d->run.conf->identity.issuers[issuer].name);
	cd_grant_names(g, g->claims);
	g->created = json_integer_value(json_object_get(o, "created"));
	g->sid = (uint32_t)json_integer_value(json_object_get(o, "id"));
	if (g->sid >= d->sess->next_sid)
		d->sess->next_sid = g->sid + 1;
	snprintf(g->via, sizeof(g->via), "%s", via ? via : "push");
	if (cd_grant_install(d, g, e) < 0)
		return -1;
	d->sess->added--; /* a restore, not a new grant */
	return 0;
}

void
cd_sess_revoke_one(struct cd *d, struct cd_grant *g)
{
	cd_syslog_event(d, "session-revoke", "identity session revoked", "id",
	    CD_SL_U(g->sid), "sub", g->sub, "src", g->src, NULL);
	d->sess->revoked++;
	cd_sess_drop(d->sess, g, true);
}

/*
 * Expired grants leave (the fast path already refuses them).  The grant
 * list and the table are walked a slice a tick: at a million sessions a
 * whole pass is ~100 ms of this single-threaded daemon.
 */
#define CD_SWEEP_SLICE 65536

static void
cd_sess_sweep(struct cd *d, int64_t now_unix, int64_t now)
{
	struct cd_sessions *s = d->sess;
	unsigned end = s->gcursor + CD_SWEEP_SLICE;

	for (unsigned i = s->gcursor; i < end && i < s->cap && s->n > 0; i++)
		if (s->g[i] && cd_sess_clock(d, s->g[i], now_unix, now, true)) {
			cd_syslog_event(d, "session-expire",
			    "identity session "
			    "expired",
			    "id", CD_SL_U(s->g[i]->sid), "sub", s->g[i]->sub,
			    "src", s->g[i]->src, NULL);
			s->expired++;
			cd_sess_drop(s, s->g[i], true);
		}
	s->gcursor = end < s->cap ? end : 0;
	sess_sweep_step(s->t, now, &s->tcursor, 2 * CD_SWEEP_SLICE);
}

/*
 * Deleted entries leave tombstones that lengthen every probe; when they
 * and the live entries fill 3/4 of the slots, the grants go into a fresh
 * table that cordon-dp takes with the running policy (same revision).
 */
static void
cd_sess_compact(struct cd *d)
{
	struct cd_err e;

	if (cd_sess_prepare(d, &d->run, &e) < 0) {
		cd_log("sessions: compaction: %s", e.msg);
		return;
	}
	if (d->dp_state == CD_DP_UP &&
	    d->be->activate(d, &d->run, false, &e) < 0) {
		cd_log("sessions: compaction: %s", e.msg);
		cd_sess_abort(d);
		return;
	}
	cd_sess_switch(d);
	cd_log("sessions: table compacted (%u sessions)", d->sess->n);
}

void
cd_sess_tick(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	int64_t now = clk_mono_ms();

	if (s == NULL || now < s->next_sweep)
		return;
	s->next_sweep = now + 1000;
	cd_sess_watermark(s);
	cd_sess_sweep(d, clk_unix_s(), clk_boot_s());
	if (sess_needs_rebuild(s->t))
		cd_sess_compact(d);
	cd_ident_refresh(d, false);
	cd_journal_tick(d);
}

json_t *
cd_grant_json(const struct cd *d, const struct cd_grant *g)
{
	const struct conf *c = d->run.conf;
	json_t *o = cd_obj(), *svcs = json_array(), *acts = json_array();
	char cc[GEO_CC_STRLEN];

	for (unsigned i = 0; i < c->nservices; i++)
		if ((g->svcs >> i) & 1)
			json_array_append_new(svcs,
			    json_string(c->services[i].name));
	for (unsigned i = 1; i < g->facts.n; i++) {
		const struct idm_principal *p = &g->facts.p[i];
		const char *sub =
		    json_string_value(json_object_get(p->obj, "sub"));
		geo_cc_t where = p->has_ip ? p->ipcc : GEO_CC_UNKNOWN;

		for (unsigned c = 0; !p->has_ip && !p->ip_bad && c < GEO_CC_MAX;
		     c++)
			if (conf_ccset_has(&p->decl, (geo_cc_t)c)) {
				where = (geo_cc_t)c;
				break;
			}

		json_array_append_new(acts,
		    json_pack("{s:s, s:s}", "sub", sub ? sub : "", "location",
		        geo_cc_name(where, cc)));
	}
	json_object_set_new(o, "id", json_integer(g->sid));
	json_object_set_new(o, "sub", json_string(g->sub));
	json_object_set_new(o, "jti", json_string(g->jti));
	json_object_set_new(o, "issuer", json_string(g->iss_name));
	json_object_set_new(o, "src", json_string(g->src));
	json_object_set_new(o, "services", svcs);
	json_object_set_new(o, "created", json_integer(g->created));
	json_object_set_new(o, "expires",
	    json_integer(cd_boot_to_unix(g->ends)));
	json_object_set_new(o, "via", json_string(g->via));
	json_object_set_new(o, "actors", acts);
	json_object_set_new(o, "relayed", json_boolean(g->facts.n > 1));
	return o;
}
