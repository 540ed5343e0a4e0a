/*
 * The canonical printer: the effective policy as an admin checks it
 * (cordon-dp --check) and as golden tests compare it.  Output depends
 * only on the config, in a fixed order, so it is stable across runs.
 */
#include <arpa/inet.h>
#include <string.h>

#include "config/load/conf_int.h"
#include "core/prx/prx.h"
#include "core/stats/reasons.h"

#define CONF_PRINT_WIDTH 76

/* A line being filled with words, wrapped under its first word. */
struct conf_line {
	FILE *f;
	unsigned col;
	unsigned indent;
};

static void
conf_word(struct conf_line *l, const char *w)
{
	size_t n = strlen(w);

	if (l->col > l->indent && l->col + 1 + n > CONF_PRINT_WIDTH) {
		fprintf(l->f, "\n%*s", (int)l->indent, "");
		l->col = l->indent;
	}
	fprintf(l->f, " %s", w);
	l->col += 1 + (unsigned)n;
}

static void
conf_line_start(struct conf_line *l, FILE *f, const char *head)
{
	l->f = f;
	fputs(head, f);
	l->col = l->indent = (unsigned)strlen(head);
}

static void
conf_line_end(struct conf_line *l)
{
	fputc('\n', l->f);
}

static void
conf_cc_word(struct conf_line *l, geo_cc_t cc)
{
	char s[GEO_CC_STRLEN];

	conf_word(l, geo_cc_name(cc, s));
}

static void
conf_ccset_words(struct conf_line *l, const struct conf_ccset *s)
{
	unsigned n = 0;

	for (geo_cc_t cc = 0; cc < GEO_CC_MAX; cc++) {
		if (conf_ccset_has(s, cc)) {
			conf_cc_word(l, cc);
			n++;
		}
	}
	if (n == 0)
		conf_word(l, "(none)");
}

static void
conf_protos_word(struct conf_line *l, uint8_t p)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "other" };
	char buf[32] = "";

	if (p == CONF_P_ANY) {
		conf_word(l, "any");
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		if (p & (1u << i))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s%s", buf[0] ? "," : "", names[i]);
	conf_word(l, buf[0] ? buf : "(none)");
}

static void
conf_ranges_words(struct conf_line *l, const struct conf_range *r, unsigned n)
{
	char buf[16];

	for (unsigned i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi)
			snprintf(buf, sizeof(buf), "%u", r[i].lo);
		else
			snprintf(buf, sizeof(buf), "%u-%u", r[i].lo, r[i].hi);
		conf_word(l, buf);
	}
}

static void
conf_geo_print(const struct conf *c, FILE *f)
{
	char addr[INET6_ADDRSTRLEN], cc[GEO_CC_STRLEN];

	fprintf(f, "geo:\n");
	if (c->ngeo == 0)
		fprintf(f, "    databases: none (every address is unknown)\n");
	for (unsigned i = 0; i < c->ngeo; i++)
		fprintf(f, "    database %u: %s field %s\n", i + 1,
		    c->geo_path[i], c->geo_field[i]);
	fprintf(f, "    overrides: %u\n", c->noverrides);
	for (unsigned i = 0; i < c->noverrides; i++) {
		const struct geo_override *o = &c->overrides[i];

		inet_ntop(o->af == 4 ? AF_INET : AF_INET6, o->addr, addr,
		    sizeof(addr));
		geo_cc_format(o->cc, cc);
		fprintf(f, "    override %s/%u %s\n", addr, o->plen,
		    o->cc == GEO_CC_UNKNOWN ? "unknown" : cc);
	}
	if (c->asn_db[0] != '\0')
		fprintf(f, "    asn database: %s\n", c->asn_db);
	for (unsigned i = 0; i < c->nclasses; i++) {
		const struct conf_class *k = &c->classes[i];

		fprintf(f, "    class %s:", k->name);
		if (k->prefixes[0] != '\0')
			fprintf(f, " prefixes %s", k->prefixes);
		if (k->asns[0] != '\0')
			fprintf(f, " asns %s", k->asns);
		for (unsigned j = 0; j < k->nasn; j++)
			fprintf(f, " AS%u", k->asn[j]);
		fprintf(f, "\n");
	}
}

static void
conf_regions_print(const struct conf *c, FILE *f)
{
	struct conf_line l;
	char head[64];

	fprintf(f, "regions:%s\n", c->nregions ? "" : " none");
	for (unsigned i = 0; i < c->nregions; i++) {
		snprintf(head, sizeof(head), "    %s:", c->regions[i].name);
		conf_line_start(&l, f, head);
		conf_ccset_words(&l, &c->regions[i].cc);
		conf_line_end(&l);
	}
}

static void
conf_services_print(const struct conf *c, FILE *f)
{
	struct conf_line l;
	char head[64];

	fprintf(f, "services:%s\n", c->nservices ? "" : " none");
	for (unsigned i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];

		snprintf(head, sizeof(head), "    %s:", s->name);
		conf_line_start(&l, f, head);
		conf_protos_word(&l, s->protos);
		conf_ranges_words(&l, s->range, s->nranges);
		if (s->nsranges) {
			conf_word(&l, "sports");
			conf_ranges_words(&l, s->srange, s->nsranges);
		}
		if (s->proxy) {
			conf_word(&l, "proxy");
			conf_word(&l, prx_mode_name(s->proxy));
		}
		conf_line_end(&l);
	}
}

static void
conf_ports_print(const struct conf *c, FILE *f)
{
	for (unsigned i = 0; i < c->nports; i++) {
		const struct conf_port *p = &c->ports[i];

		fprintf(f, "    port %s: device %s role %s", p->name, p->device,
		    conf_role_name(p->role));
		if (p->peer >= 0)
			fprintf(f, " peer %s", c->ports[p->peer].name);
		if (p->devargs[0])
			fprintf(f, " devargs \"%s\"", p->devargs);
		fputc('\n', f);
	}
	for (unsigned i = 0; i < c->nnexthops; i++) {
		const struct conf_nexthop *h = &c->nexthops[i];
		const uint8_t *m = h->mac;

		fprintf(f,
		    "    nexthop %s: port %s mac "
		    "%02x:%02x:%02x:%02x:%02x:%02x",
		    h->name, c->ports[h->port].name, m[0], m[1], m[2], m[3],
		    m[4], m[5]);
		if (h->vlan >= 0)
			fprintf(f, " vlan %d", h->vlan);
		fputc('\n', f);
	}
}

static void
conf_dataplane_print(const struct conf *c, FILE *f)
{
	fprintf(f, "dataplane:\n");
	conf_ports_print(c, f);
	conf_nft_print(c, f);
	fprintf(f, "    eal:");
	for (unsigned i = 0; i < c->neal; i++)
		fprintf(f, " \"%s\"", c->eal[i]);
	fprintf(f, "%s\n    workers %u burst %u mbufs %u\n",
	    c->neal ? "" : " none", c->workers, c->burst, c->mbufs);
	fprintf(f, "    fragments %u timeout %u ms\n", c->frag_entries,
	    c->frag_timeout_ms);
	fprintf(f, "    top window %u s\n", c->top_window);
}

/* "class:NAME" for each class of CLS; how many. */
static unsigned
conf_cls_words(struct conf_line *l, const struct conf *c, geo_cls_t cls)
{
	char w[CONF_NAME_MAX + 8];
	unsigned n = 0;

	for (unsigned k = 0; k < c->nclasses; k++)
		if ((cls >> k) & 1) {
			snprintf(w, sizeof(w), CONF_CLASS_PREFIX "%s",
			    c->classes[k].name);
			conf_word(l, w);
			n++;
		}
	return n;
}

/* The items as written, then what they expand to. */
static void
conf_side_print(const struct conf *c, FILE *f, const char *key, bool any,
    const struct conf_ccset *set, const struct conf_ref *ref, unsigned n)
{
	struct conf_line l;
	char head[32];

	snprintf(head, sizeof(head), "        %s:", key);
	conf_line_start(&l, f, head);
	if (n == 0)
		conf_word(&l, "any");
	for (unsigned i = 0; i < n; i++) {
		if (ref[i].kind == CONF_REF_ANY)
			conf_word(&l, "any");
		else if (ref[i].kind == CONF_REF_REGION)
			conf_word(&l, c->regions[ref[i].val].name);
		else if (ref[i].kind == CONF_REF_SPECIAL)
			conf_word(&l, "special");
		else if (ref[i].kind == CONF_REF_CLASS)
			conf_cls_words(&l, c, (geo_cls_t)1 << ref[i].val);
		else
			conf_cc_word(&l, ref[i].val);
	}
	conf_line_end(&l);
	if (any && n > 0)
		fprintf(f, "          = any\n");
	else if (!any) {
		conf_line_start(&l, f, "          =");
		if (conf_cls_words(&l, c, set->cls) == 0 ||
		    !conf_ccset_empty(set))
			conf_ccset_words(&l, set);
		conf_line_end(&l);
	}
}

static void
conf_rule_ports_print(const struct conf *c, const struct conf_rule *r, FILE *f)
{
	struct conf_line l;

	conf_line_start(&l, f, "        services:");
	if (r->svc_any)
		conf_word(&l, "any");
	else if (r->services == 0)
		conf_word(&l, "none");
	for (unsigned i = 0; i < c->nservices; i++)
		if (r->services & (1ULL << i))
			conf_word(&l, c->services[i].name);
	conf_line_end(&l);
	if (r->nports) {
		conf_line_start(&l, f, "        ports:");
		conf_ranges_words(&l, r->ports, r->nports);
		conf_line_end(&l);
	}
	conf_line_start(&l, f, "        proto:");
	conf_protos_word(&l, r->protos);
	conf_line_end(&l);
}

static void
conf_rule_print(const struct conf *c, unsigned i, FILE *f)
{
	static const char *const dirs[] = { "any", "in", "out" };
	const struct conf_rule *r = &c->rules[i];

	fprintf(f, "    rule %u %s (%s:%d):\n", i + 1, r->name,
	    c->files[r->file], r->line);
	conf_side_print(c, f, "src", r->src_any, &r->src, r->src_ref,
	    r->nsrc_ref);
	conf_side_print(c, f, "dst", r->dst_any, &r->dst, r->dst_ref,
	    r->ndst_ref);
	if (r->has_origin)
		conf_side_print(c, f, "origin", false, &r->origin,
		    r->origin_ref, r->norigin_ref);
	if (r->has_via)
		conf_side_print(c, f, "via", false, &r->via, r->via_ref,
		    r->nvia_ref);
	if (r->has_dst_via)
		conf_side_print(c, f, "dst_via", false, &r->dst_via,
		    r->dst_via_ref, r->ndst_via_ref);
	if (r->tun != 0 && r->tun != CONF_TUN_ALL)
		fprintf(f, "        tunnel:%s%s%s\n",
		    r->tun & CONF_TUN_NONE ? " none" : "",
		    r->tun & CONF_TUN_OPEN ? " inspected" : "",
		    r->tun & CONF_TUN_OPAQUE ? " opaque" : "");
	conf_rule_ports_print(c, r, f);
	fprintf(f, "        direction: %s\n        action: %s", dirs[r->dir],
	    cdn_action_name((unsigned)r->action));
	if (r->nexthop >= 0)
		fprintf(f, " via %s", c->nexthops[r->nexthop].name);
	fprintf(f, "\n        log: %s\n", r->log ? "yes" : "no");
	if (r->evidence)
		fprintf(f, "        evidence: yes\n");
}

void
conf_print(const struct conf *c, FILE *f)
{
	fprintf(f, "# effective policy of %s\n", c->file);
	conf_geo_print(c, f);
	conf_regions_print(c, f);
	conf_services_print(c, f);
	conf_dataplane_print(c, f);
	fprintf(f, "rules:%s\n", c->nrules ? "" : " none");
	for (unsigned i = 0; i < c->nrules; i++)
		conf_rule_print(c, i, f);
	fprintf(f, "default: %s, log %s\n",
	    cdn_action_name((unsigned)c->default_action),
	    c->log_default ? "yes" : "no");
	fprintf(f, "non_ip: %s\n", cdn_action_name((unsigned)c->nonip_action));
	fprintf(f, "source_route: %s\n",
	    cdn_action_name((unsigned)c->srcroute_action));
	conf_tunnels_print(c, f);
	conf_proxies_print(c, f);
	conf_evidence_print(c, f);
}
