/*
 * show WHAT: the running configuration as lists of flat objects (one
 * per rule, region, service, ...), the revisions, the audit log, and the
 * texts of the running revision and the caller's candidate.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"
#include "core/stats/reasons.h"

#define CD_SHOW_REVS  1000
#define CD_SHOW_AUDIT 200

static void
cd_ranges_str(const struct conf_range *r, unsigned n, char *out, size_t len)
{
	char buf[16];

	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi)
			snprintf(buf, sizeof(buf), "%u", r[i].lo);
		else
			snprintf(buf, sizeof(buf), "%u-%u", r[i].lo, r[i].hi);
		cd_word(out, len, buf);
	}
}

static void
cd_protos_str(uint8_t p, char *out, size_t len)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "other" };

	out[0] = '\0';
	if (p == CONF_P_ANY) {
		snprintf(out, len, "any");
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		if (p & (1u << i))
			cd_word(out, len, names[i]);
}

static void
cd_services_str(const struct conf *c, const struct conf_rule *r, char *out,
    size_t len)
{
	out[0] = '\0';
	if (r->svc_any) {
		snprintf(out, len, "any");
		return;
	}
	for (unsigned i = 0; i < c->nservices; i++)
		if (r->services & (1ULL << i))
			cd_word(out, len, c->services[i].name);
}

/* SET by region names where a whole region fits, then by countries. */
static void
cd_ccset_named(const struct conf *c, const struct conf_ccset *set, char *out,
    size_t len)
{
	struct conf_ccset left = *set;
	char cc[GEO_CC_STRLEN];
	bool fits;

	out[0] = '\0';
	for (unsigned i = 0; i < c->nregions; i++) {
		const struct conf_ccset *r = &c->regions[i].cc;
		bool empty = true;

		fits = true;
		for (unsigned w = 0; w < CONF_CC_WORDS; w++) {
			fits &= (r->w[w] & ~left.w[w]) == 0;
			empty &= r->w[w] == 0;
		}
		if (!fits || empty)
			continue;
		cd_word(out, len, c->regions[i].name);
		for (unsigned w = 0; w < CONF_CC_WORDS; w++)
			left.w[w] &= ~r->w[w];
	}
	for (geo_cc_t i = 0; i < GEO_CC_MAX; i++)
		if (conf_ccset_has(&left, i))
			cd_word(out, len, geo_cc_name(i, cc));
}

/* Appends "; KEY V1 V2" (no "; " first) to OUT. */
static void
cd_id_part(char *out, size_t len, const char *key, const char *vals)
{
	size_t n = strlen(out);

	snprintf(out + n, len - n, "%s%s%s%s", n ? "; " : "", key,
	    *vals ? " " : "", vals);
}

static void
cd_id_list(char *out, size_t len, const char *key, const struct conf_idlist *l)
{
	char vals[CONF_IDVAL_MAX * (CONF_IDVAL_LEN + 1)] = "";

	for (unsigned i = 0; i < l->n; i++)
		cd_word(vals, sizeof(vals), l->v[i]);
	if (l->n)
		cd_id_part(out, len, key, vals);
}

static void
cd_id_set(const struct conf *c, char *out, size_t len, const char *key,
    bool has, const struct conf_ccset *set)
{
	char vals[4096];

	if (!has)
		return;
	cd_ccset_named(c, set, vals, sizeof(vals));
	cd_id_part(out, len, key, vals);
}

/*
 * A rule's identity block on one line, in the config's words: "who
 * actors; location prohibited unknown".  "" when the rule has none.
 */
static void
cd_id_str(const struct conf *c, const struct conf_idmatch *m, char *out,
    size_t len)
{
	char vals[CONF_ISSUER_MAX * 33] = "";

	out[0] = '\0';
	if (!m->on)
		return;
	cd_id_part(out, len, "who", conf_who_name(m->who));
	for (unsigned i = 0; i < c->identity.nissuers; i++)
		if ((m->issuers >> i) & 1)
			cd_word(vals, sizeof(vals),
			    c->identity.issuers[i].name);
	if (m->issuers)
		cd_id_part(out, len, "issuer", vals);
	cd_id_list(out, len, "sub", &m->sub);
	cd_id_list(out, len, "groups", &m->groups);
	cd_id_list(out, len, "roles", &m->roles);
	for (unsigned i = 0; i < m->nclaims; i++) {
		snprintf(vals, sizeof(vals), "claim %s in", m->claims[i].name);
		cd_id_list(out, len, vals, &m->claims[i].in);
	}
	cd_id_set(c, out, len, "location", m->has_loc, &m->loc);
	cd_id_set(c, out, len, "ip_country", m->has_ipcc, &m->ipcc);
	cd_id_set(c, out, len, "declared_country", m->has_decl, &m->decl);
	if (m->relayed >= 0)
		cd_id_part(out, len, "relayed", m->relayed ? "yes" : "no");
	if (m->ip_mismatch >= 0)
		cd_id_part(out, len, "ip_mismatch",
		    m->ip_mismatch ? "yes" : "no");
}

static json_t *
cd_show_rule(const struct conf *c, unsigned i)
{
	static const char *const dirs[] = { "any", "in", "out" };
	const struct conf_rule *r = &c->rules[i];
	char src[1024], dst[1024], svc[1024], ports[256], proto[32];
	char id[8192];

	cd_refs_str(c, r->src_ref, r->nsrc_ref, src, sizeof(src));
	cd_refs_str(c, r->dst_ref, r->ndst_ref, dst, sizeof(dst));
	cd_services_str(c, r, svc, sizeof(svc));
	cd_ranges_str(r->ports, r->nports, ports, sizeof(ports));
	cd_protos_str(r->protos, proto, sizeof(proto));
	cd_id_str(c, &r->id, id, sizeof(id));
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	                 "s:s, s:b, s:b, s:s, s:i}",
	    "position", (int)i + 1, "name", r->name, "src", src, "dst", dst,
	    "services", svc, "ports", ports, "proto", proto, "direction",
	    dirs[r->dir], "identity", id, "action",
	    cdn_action_name((unsigned)r->action), "nexthop",
	    r->nexthop >= 0 ? c->nexthops[r->nexthop].name : "", "log", r->log,
	    "evidence", r->evidence, "file", c->files[r->file], "line",
	    r->line);
}

static json_t *
cd_show_rules(const struct conf *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < c->nrules; i++)
		json_array_append_new(a, cd_show_rule(c, i));
	json_array_append_new(a,
	    json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, "
	              "s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:i}",
	        "position", 0, "name", "(default)", "src", "any", "dst", "any",
	        "services", "any", "ports", "", "proto", "any", "direction",
	        "any", "identity", "", "action",
	        cdn_action_name((unsigned)c->default_action), "nexthop", "",
	        "log", c->log_default, "file", c->file, "line",
	        c->default_line));
	return a;
}

static json_t *
cd_show_regions(const struct conf *c)
{
	json_t *a = json_array();
	char cc[4096];

	for (unsigned i = 0; i < c->nregions; i++) {
		cd_ccset_str(&c->regions[i].cc, cc, sizeof(cc));
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:i}", "name", c->regions[i].name,
		        "countries", cc, "line", c->regions[i].line));
	}
	return a;
}

static json_t *
cd_show_services(const struct conf *c)
{
	json_t *a = json_array();
	char ports[256], sports[256], proto[32];

	for (unsigned i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];

		cd_ranges_str(s->range, s->nranges, ports, sizeof(ports));
		cd_ranges_str(s->srange, s->nsranges, sports, sizeof(sports));
		cd_protos_str(s->protos, proto, sizeof(proto));
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", s->name,
		        "proto", proto, "ports", ports, "sports", sports,
		        "line", s->line));
	}
	return a;
}

static const char *
cd_role_str(enum conf_role r)
{
	return r == CONF_ROLE_OUTSIDE  ? "outside"
	       : r == CONF_ROLE_INSIDE ? "inside"
	                               : "other";
}

static json_t *
cd_show_ports(const struct conf *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < c->nports; i++) {
		const struct conf_port *p = &c->ports[i];

		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", p->name,
		        "device", p->device, "role", cd_role_str(p->role),
		        "peer", p->peer >= 0 ? c->ports[p->peer].name : "",
		        "devargs", p->devargs));
	}
	return a;
}

static json_t *
cd_show_nexthops(const struct conf *c)
{
	json_t *a = json_array();
	char mac[24];

	for (unsigned i = 0; i < c->nnexthops; i++) {
		const struct conf_nexthop *h = &c->nexthops[i];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		    h->mac[0], h->mac[1], h->mac[2], h->mac[3], h->mac[4],
		    h->mac[5]);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:i}", "name", h->name, "port",
		        c->ports[h->port].name, "mac", mac, "vlan", h->vlan));
	}
	return a;
}

static json_t *
cd_show_overrides(const struct conf *c)
{
	json_t *a = json_array();
	char addr[INET6_ADDRSTRLEN], pfx[64], cc[GEO_CC_STRLEN];

	for (unsigned i = 0; i < c->noverrides; i++) {
		const struct geo_override *o = &c->overrides[i];

		inet_ntop(o->af == 4 ? AF_INET : AF_INET6, o->addr, addr,
		    sizeof(addr));
		snprintf(pfx, sizeof(pfx), "%s/%u", addr, o->plen);
		json_array_append_new(a,
		    json_pack("{s:s, s:s}", "prefix", pfx, "country",
		        geo_cc_name(o->cc, cc)));
	}
	return a;
}

/* The relay classes as configured; their files' contents are in force
 * as of the last compile or geo reload. */
static json_t *
cd_show_classes(const struct conf *c)
{
	json_t *a = json_array(), *asn;

	for (unsigned i = 0; i < c->nclasses; i++) {
		const struct conf_class *k = &c->classes[i];

		asn = json_array();
		for (unsigned j = 0; j < k->nasn; j++)
			json_array_append_new(asn, json_integer(k->asn[j]));
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:o}", "name", k->name,
		        "prefixes", k->prefixes, "asns", k->asns, "asn", asn));
	}
	return a;
}

static json_t *
cd_show_geo(struct cd *d)
{
	json_t *o = cd_obj();

	json_object_set_new(o, "layers", cd_geo_layers(&d->run.geo));
	json_object_set_new(o, "overrides", cd_show_overrides(d->run.conf));
	json_object_set_new(o, "classes", cd_show_classes(d->run.conf));
	json_object_set_new(o, "asn_database",
	    json_string(d->run.conf->asn_db));
	json_object_set_new(o, "compile_ms", json_real(d->run.geo.compile_ms));
	return o;
}

static json_t *
cd_show_revisions(struct cd *d)
{
	struct store_meta *m = calloc(CD_SHOW_REVS, sizeof(*m));
	json_t *a = json_array();
	unsigned n = 0;

	if (m != NULL && store_rev_list(d->store, m, CD_SHOW_REVS, &n) < 0)
		n = 0;
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a,
		    json_pack("{s:I, s:I, s:I, s:i, s:i, "
		              "s:s, s:s, s:b}",
		        "revision", (json_int_t)m[i].rev, "base",
		        (json_int_t)m[i].base, "time", (json_int_t)m[i].time,
		        "uid", (int)m[i].uid, "pid", (int)m[i].pid, "kind",
		        m[i].kind, "comment", m[i].comment, "running",
		        m[i].rev == d->run.rev));
	free(m);
	return a;
}

static json_t *
cd_show_candidate(struct cd *d, const struct cd_req *rq)
{
	json_t *o = cd_obj();
	uint64_t base = 0;
	char *text = NULL;
	size_t len;
	bool has = store_cand_exists(d->store, rq->uid) == 1;

	if (has && store_cand_load(d->store, rq->uid, &text, &len, &base) < 0)
		has = false;
	json_object_set_new(o, "exists", json_boolean(has));
	json_object_set_new(o, "base", json_integer((json_int_t)base));
	json_object_set_new(o, "text", json_string(has && text ? text : ""));
	free(text);
	return o;
}

/* WHAT's list under key WHAT, in a data object. */
static json_t *
cd_show_list(const char *what, json_t *list)
{
	json_t *o = cd_obj();

	json_object_set_new(o, what, list);
	return o;
}

static json_t *
cd_show_audit(struct cd *d)
{
	json_t *recs = NULL;

	if (audit_list(d->audit_path, &recs, CD_SHOW_AUDIT) < 0 || !recs)
		recs = json_array();
	return cd_show_list("records", recs);
}

int
cd_cmd_show(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *w = json_string_value(json_object_get(rq->args, "what"));
	const struct conf *c = d->run.conf;

	if (w == NULL)
		return cd_fail(e, "bad-request", "show needs \"what\"");
	if (strcmp(w, "rules") == 0) {
		json_t *a = cd_show_rules(c);

		cd_rulectr_annotate(d, a);
		*data = cd_show_list("rules", a);
	} else if (strcmp(w, "regions") == 0)
		*data = cd_show_list("regions", cd_show_regions(c));
	else if (strcmp(w, "services") == 0)
		*data = cd_show_list("services", cd_show_services(c));
	else if (strcmp(w, "ports") == 0)
		*data = cd_show_list("ports", cd_show_ports(c));
	else if (strcmp(w, "nexthops") == 0)
		*data = cd_show_list("nexthops", cd_show_nexthops(c));
	else if (strcmp(w, "geo") == 0)
		*data = cd_show_geo(d);
	else if (strcmp(w, "revisions") == 0)
		*data = cd_show_list("revisions", cd_show_revisions(d));
	else if (strcmp(w, "audit") == 0)
		*data = cd_show_audit(d);
	else if (strcmp(w, "config") == 0)
		return cd_show_config(d, rq, data, e);
	else if (strcmp(w, "candidate") == 0)
		*data = cd_show_candidate(d, rq);
	else if (strcmp(w, "logging") == 0)
		*data = cd_syslog_show(d);
	else if (strcmp(w, "captures") == 0)
		*data = cd_show_captures(d);
	else
		return cd_fail(e, "bad-request",
		    "show: unknown \"%s\" (rules, "
		    "regions, services, ports, nexthops, geo, revisions, audit, "
		    "config, candidate, logging, captures)",
		    w);
	return 0;
}
