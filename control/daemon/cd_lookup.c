/*
 * lookup ADDR: what each database layer says (libmaxminddb, as the
 * compiler read it), which override applies, and what the compiled
 * tables answer.  explain: one packet through the running policy with
 * the classifier itself (cls_explain): the verdict and, rule by rule,
 * the compiled set that turned each rule down, from one evaluation.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <maxminddb.h>

#include "control/daemon/cordond.h"
#include "config/geo/geo_special.h"
#include "core/classify/cls_fmt.h"
#include "core/frag/frag.h"
#include "core/stats/reasons.h"

#define CD_FIELD_DEPTH 8

struct cd_addr {
	int af;        /* 4 or 6 */
	uint8_t b[16]; /* network order */
};

static int
cd_addr_parse(const char *s, struct cd_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s != NULL && inet_pton(AF_INET, s, a->b) == 1)
		a->af = 4;
	else if (s != NULL && inet_pton(AF_INET6, s, a->b) == 1)
		a->af = 6;
	else
		return -1;
	return 0;
}

/* Country and relay classes of A: one lookup, as the fast path does. */
static geo_cc_t
cd_addr_cc(const struct geo_tables *g, const struct cd_addr *a, geo_cls_t *cls)
{
	uint32_t v4;

	if (a->af == 6)
		return geo_lookup6_cls(g, a->b, cls);
	memcpy(&v4, a->b, 4);
	return geo_lookup4_cls(g, ntohl(v4), cls);
}

/* The names of classes CLS, as the tables name them. */
static json_t *
cd_classes_json(const struct geo_tables *g, geo_cls_t cls)
{
	const struct geo_classes *k = geo_tables_classes(g);
	json_t *a = json_array();

	for (unsigned i = 0; i < k->n; i++)
		if ((cls >> i) & 1)
			json_array_append_new(a, json_string(k->name[i]));
	return a;
}

/* "tor, hosting" into OUT ("" when none). */
static void
cd_classes_str(const struct geo_tables *g, geo_cls_t cls, char *out, size_t len)
{
	const struct geo_classes *k = geo_tables_classes(g);
	size_t n;

	out[0] = '\0';
	for (unsigned i = 0; i < k->n; i++)
		if ((cls >> i) & 1) {
			n = strlen(out);
			snprintf(out + n, len - n, "%s%s", n ? ", " : "",
			    k->name[i]);
		}
}

static bool
cd_prefix_has(const struct geo_override *o, const struct cd_addr *a)
{
	unsigned full = o->plen / 8, rest = o->plen % 8;

	if (o->af != a->af || memcmp(o->addr, a->b, full) != 0)
		return false;
	return rest == 0 || ((o->addr[full] ^ a->b[full]) &
	                        (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The most specific override containing A (the last of equals), or -1. */
static int
cd_override_find(const struct conf *c, const struct cd_addr *a)
{
	int best = -1;

	for (unsigned i = 0; i < c->noverrides; i++)
		if (cd_prefix_has(&c->overrides[i], a) &&
		    (best < 0 ||
		        c->overrides[i].plen >= c->overrides[best].plen))
			best = (int)i;
	return best;
}

static json_t *
cd_override_json(const struct conf *c, int i)
{
	const struct geo_override *o;
	char addr[INET6_ADDRSTRLEN], pfx[64], cc[GEO_CC_STRLEN];

	if (i < 0)
		return json_null();
	o = &c->overrides[i];
	inet_ntop(o->af == 4 ? AF_INET : AF_INET6, o->addr, addr, sizeof(addr));
	snprintf(pfx, sizeof(pfx), "%s/%u", addr, o->plen);
	return json_pack("{s:s, s:s}", "prefix", pfx, "country",
	    geo_cc_name(o->cc, cc));
}

/*
 * The built-in prefix written last that holds A (geo_special.c): a
 * special-purpose block, whose sub-region no database can change, or an
 * alias, where the embedded IPv4 address decides.  Null when none.
 */
static json_t *
cd_builtin_json(const struct cd_addr *a)
{
	const struct geo_builtin *b;
	char addr[INET6_ADDRSTRLEN], pfx[64], cc[GEO_CC_STRLEN];

	b = geo_builtin_find((unsigned)a->af, a->b, a->af == 4 ? 32 : 128);
	if (b == NULL)
		return json_null();
	inet_ntop(b->af == 4 ? AF_INET : AF_INET6, b->addr, addr, sizeof(addr));
	snprintf(pfx, sizeof(pfx), "%s/%u", addr, b->plen);
	geo_cc_format(b->cc, cc);
	return json_pack("{s:s, s:s, s:s}", "prefix", pfx, "name", b->what,
	    "region", b->cc == GEO_CC_UNKNOWN ? "(embedded IPv4)" : cc);
}

/* The layer's field of ADDR's record, as libmaxminddb reads it. */
static void
cd_layer_value(MMDB_lookup_result_s *res, const char *field, char *out,
    size_t len)
{
	const char *path[CD_FIELD_DEPTH + 1];
	char buf[GEO_FIELD_MAX], *save = NULL, *tok;
	MMDB_entry_data_s v;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", field);
	for (tok = strtok_r(buf, ".", &save); tok && n < CD_FIELD_DEPTH;
	     tok = strtok_r(NULL, ".", &save))
		path[n++] = tok;
	path[n] = NULL;
	snprintf(out, len, "unknown");
	if (MMDB_aget_value(&res->entry, &v, path) != MMDB_SUCCESS ||
	    !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	snprintf(out, len, "%.*s", (int)v.data_size, v.utf8_string);
}

static json_t *
cd_layer_lookup(const char *path, const char *field, const char *addr)
{
	MMDB_lookup_result_s res;
	char country[64] = "";
	MMDB_s db;
	int gai, merr;

	if (MMDB_open(path, MMDB_MODE_MMAP, &db) != MMDB_SUCCESS)
		return json_pack("{s:s, s:s, s:b, s:s, s:i}", "path", path,
		    "field", field, "found", 0, "country", "(cannot open)",
		    "prefix_len", 0);
	res = MMDB_lookup_string(&db, addr, &gai, &merr);
	if (gai == 0 && merr == MMDB_SUCCESS && res.found_entry)
		cd_layer_value(&res, field, country, sizeof(country));
	/* An IPv4 address in an IPv6 tree sits under ::/96. */
	if (strchr(addr, ':') == NULL && db.metadata.ip_version == 6 &&
	    res.netmask >= 96)
		res.netmask -= 96;
	MMDB_close(&db);
	return json_pack("{s:s, s:s, s:b, s:s, s:i}", "path", path, "field",
	    field, "found", gai == 0 && merr == MMDB_SUCCESS && res.found_entry,
	    "country", country, "prefix_len", (int)res.netmask);
}

int
cd_cmd_lookup(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *s = json_string_value(json_object_get(rq->args, "addr"));
	const struct conf *c = d->run.conf;
	struct cd_addr a;
	json_t *layers, *o;
	char cc[GEO_CC_STRLEN];
	geo_cls_t cls;

	if (cd_addr_parse(s, &a) < 0)
		return cd_fail(e, "bad-request",
		    "lookup needs \"addr\": an "
		    "IPv4 or IPv6 address");
	layers = json_array();
	for (unsigned i = 0; i < c->ngeo; i++)
		json_array_append_new(layers,
		    cd_layer_lookup(c->geo_path[i], c->geo_field[i], s));
	o = cd_obj();
	json_object_set_new(o, "addr", json_string(s));
	json_object_set_new(o, "family", json_integer(a.af));
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "builtin", cd_builtin_json(&a));
	json_object_set_new(o, "override",
	    cd_override_json(c, cd_override_find(c, &a)));
	json_object_set_new(o, "final",
	    json_string(
	        geo_cc_name(cd_addr_cc(d->run.geo.tables, &a, &cls), cc)));
	json_object_set_new(o, "classes",
	    cd_classes_json(d->run.geo.tables, cls));
	*data = o;
	return 0;
}

/* explain ------------------------------------------------------------- */

struct cd_pkt {
	struct cd_addr src, dst;
	struct pkt_meta m;
	uint8_t l4proto;
	unsigned pc;  /* enum pol_proto */
	unsigned dir; /* enum pol_dir */
	const char *iface;
	const char *frag; /* "first", "later" or NULL: a whole packet */
};

static int
cd_proto_parse(json_t *v, struct cd_pkt *p)
{
	const char *s = json_string_value(v);

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < 256)
		p->l4proto = (uint8_t)json_integer_value(v);
	else if (s && strcmp(s, "tcp") == 0)
		p->l4proto = IPPROTO_TCP;
	else if (s && strcmp(s, "udp") == 0)
		p->l4proto = IPPROTO_UDP;
	else if (s && (strcmp(s, "icmp") == 0 || strcmp(s, "icmpv6") == 0))
		p->l4proto = p->src.af == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	else
		return -1;
	/* The classifier's class: protocol 1 under IPv6 is "other". */
	p->pc = cls_proto_class(p->l4proto, (uint8_t)p->src.af);
	return 0;
}

static int
cd_dir_parse(const struct conf *c, const char *iface, struct cd_pkt *p)
{
	int i;

	/* None given: arriving from outside, the question explain is
	 * mostly asked (cordonctl(8) documents the word as optional). */
	if (iface == NULL)
		iface = "in";
	p->iface = iface;
	if (strcmp(iface, "in") == 0)
		p->dir = POL_DIR_IN;
	else if (strcmp(iface, "out") == 0)
		p->dir = POL_DIR_OUT;
	else if ((i = conf_port_find(c, iface)) >= 0)
		p->dir = c->ports[i].role == CONF_ROLE_OUTSIDE ? POL_DIR_IN
		                                               : POL_DIR_OUT;
	else
		return -1;
	return 0;
}

/*
 * A fragment is judged by its datagram's first fragment, which holds the
 * ports asked about: the first is classified as that packet, and a later
 * one takes its verdict (frag_follow_verdict, as the fragment table).
 */
static int
cd_frag_parse(const json_t *v, struct cd_pkt *p, struct cd_err *e)
{
	const char *s = json_string_value(v);

	if (v == NULL)
		return 0;
	if (s == NULL || (strcmp(s, "first") != 0 && strcmp(s, "later") != 0))
		return cd_fail(e, "bad-request",
		    "\"fragment\": first or later");
	p->frag = strcmp(s, "first") == 0 ? "first" : "later";
	/* Only TCP and UDP first fragments carry what the rules read. */
	p->m.frag = PKT_FRAG_FIRST;
	return 0;
}

/*
 * "via": ["KIND:ADDR", ...], the outermost relay first (explain ... via
 * gre:198.51.100.7): the packet is put inside those tunnels, as the
 * parser would have recorded it.  The destination is the outermost
 * header's, so of the first relay's family.
 */
/*
 * "inner_dst": where the tunnelled packet goes (`dst_via`), the inner
 * layers of its family; without it they go to "dst".
 */
static int
cd_pkt_inner_dst(json_t *inner, struct cd_pkt *p, struct cd_err *e)
{
	struct cd_addr a;

	if (inner == NULL)
		return 0;
	if (cd_addr_parse(json_string_value(inner), &a) < 0 ||
	    a.af != p->src.af)
		return cd_fail(e, "bad-request",
		    "\"inner_dst\": an address "
		    "of the source's family");
	cls_key_via_dst(&p->m, (uint8_t)a.af, a.b);
	return 0;
}

static int
cd_pkt_via(json_t *via, json_t *inner, struct cd_pkt *p, struct cd_err *e)
{
	struct cls_via v[PKT_LAYER_MAX];
	struct cd_addr a;
	char kind[16];
	const char *s, *colon;
	size_t i, n = json_array_size(via);

	if (via == NULL)
		return inner == NULL ? 0
		                     : cd_fail(e, "bad-request",
		                           "\"inner_dst\" needs \"via\"");
	if (!json_is_array(via) || n == 0 || n >= PKT_LAYER_MAX)
		return cd_fail(e, "bad-request",
		    "\"via\": 1 to %d KIND:ADDR "
		    "items",
		    PKT_LAYER_MAX - 1);
	for (i = 0; i < n; i++) {
		s = json_string_value(json_array_get(via, i));
		colon = s ? strchr(s, ':') : NULL;
		if (colon == NULL || (size_t)(colon - s) >= sizeof(kind))
			return cd_fail(e, "bad-request", "\"via\": KIND:ADDR");
		snprintf(kind, sizeof(kind), "%.*s", (int)(colon - s), s);
		if (pkt_tun_parse(kind) < 0 || cd_addr_parse(colon + 1, &a) < 0)
			return cd_fail(e, "bad-request",
			    "\"via\": \"%s\": a "
			    "tunnel (ipip, 6in4, gre, vxlan, ...) and an "
			    "address",
			    s);
		v[i].kind = (uint8_t)pkt_tun_parse(kind);
		v[i].af = (uint8_t)a.af;
		memcpy(v[i].addr, a.b, sizeof(v[i].addr));
	}
	if (p->dst.af != v[0].af)
		return cd_fail(e, "bad-request",
		    "\"dst\" is the outermost "
		    "header's: of the first relay's family");
	cls_key_via(&p->m, v, (unsigned)n);
	if (p->dst.af == 4)
		p->m.dst4 = (uint32_t)p->dst.b[0] << 24 |
		            (uint32_t)p->dst.b[1] << 16 |
		            (uint32_t)p->dst.b[2] << 8 | p->dst.b[3];
	else
		memcpy(p->m.dst6, p->dst.b, 16);
	/* A layer of the other family than dst goes nowhere known (the
	 * unspecified address) unless inner_dst says where. */
	for (i = 0; i < p->m.nlayer; i++)
		if (p->m.layer[i].af != p->dst.af) {
			p->m.layer_dst[i].dst4 = 0;
			memset(p->m.layer_dst[i].dst6, 0, 16);
		}
	p->m.layer_dst[0].dst4 = p->m.dst4;
	memcpy(p->m.layer_dst[0].dst6, p->m.dst6, 16);
	return cd_pkt_inner_dst(inner, p, e);
}

static int
cd_pkt_build(const struct conf *c, json_t *args, struct cd_pkt *p,
    struct cd_err *e)
{
	json_int_t sp = json_integer_value(json_object_get(args, "sport"));
	json_int_t dp = json_integer_value(json_object_get(args, "dport"));
	struct cls_key k;

	memset(p, 0, sizeof(*p));
	if (cd_addr_parse(json_string_value(json_object_get(args, "src")),
	        &p->src) < 0 ||
	    cd_addr_parse(json_string_value(json_object_get(args, "dst")),
	        &p->dst) < 0 ||
	    (p->src.af != p->dst.af && json_object_get(args, "via") == NULL))
		return cd_fail(e, "bad-request",
		    "explain needs \"src\" and "
		    "\"dst\": addresses of one family");
	if (cd_proto_parse(json_object_get(args, "proto"), p) < 0)
		return cd_fail(e, "bad-request",
		    "\"proto\": tcp, udp, icmp, "
		    "icmpv6 or a protocol number");
	if (sp < 0 || sp > 65535 || dp < 0 || dp > 65535)
		return cd_fail(e, "bad-request", "ports are 0-65535");
	if (cd_dir_parse(c, json_string_value(json_object_get(args, "iface")),
	        p) < 0)
		return cd_fail(e, "bad-request",
		    "\"iface\": a port name of "
		    "the running config, or \"in\" / \"out\"");
	k.af = (uint8_t)p->src.af;
	k.l4proto = p->l4proto;
	k.sport = (uint16_t)sp;
	k.dport = (uint16_t)dp;
	memcpy(k.src, p->src.b, sizeof(k.src));
	memcpy(k.dst, p->dst.b, sizeof(k.dst));
	cls_key_meta(&k, &p->m);
	if (cd_frag_parse(json_object_get(args, "fragment"), p, e) < 0)
		return -1;
	return cd_pkt_via(json_object_get(args, "via"),
	    json_object_get(args, "inner_dst"), p, e);
}

static void
cd_step(json_t *steps, const char *step, const char *result, const char *detail)
{
	json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "step", step,
	                                 "result", result, "detail", detail));
}

/*
 * The rules up to the deciding one, each with the compiled set that
 * turned it down (cls_explain): what the classifier itself evaluated.
 * The rule's matchers are shown as written in the config.
 */
static void
cd_explain_rules(const struct cd *d, const struct cd_pkt *p,
    const struct cls_why *w, json_t *steps)
{
	static const char *const dirs[] = { "any", "in", "out" };
	const struct conf *c = d->run.conf;
	char cls[256], srcwhy[sizeof(cls) + 64];

	/* A source in classes was judged by them too: say which. */
	cd_classes_str(d->run.geo.tables, w->v.src_cls, cls, sizeof(cls));
	snprintf(srcwhy, sizeof(srcwhy),
	    "source country and classes (%s) "
	    "not in src",
	    cls);
	for (unsigned i = 0; i < w->nmiss && i < c->nrules; i++) {
		const struct conf_rule *r = &c->rules[i];
		const char *why =
		    cls_miss_text(w->miss[i], p->pc, w->ident_hit);
		char step[64], src[512], detail[1536];

		if (w->miss[i] == CLS_SET_SRC && cls[0] != '\0')
			why = srcwhy;
		snprintf(step, sizeof(step), "rule %u %s", i + 1, r->name);
		cd_refs_str(c, r->src_ref, r->nsrc_ref, src, sizeof(src));
		snprintf(detail, sizeof(detail),
		    "%s%ssrc %s, direction %s, "
		    "%saction %s",
		    why ? why : "", why ? "; " : "", src, dirs[r->dir],
		    r->id.on ? "identity block, " : "",
		    cdn_action_name((unsigned)r->action));
		cd_step(steps, step, why ? "no match" : "match", detail);
	}
}

/*
 * May override O decide address A?  Not where A lies in a built-in
 * prefix written after O (a special-purpose block or an alias inside a
 * broader override: geo_build.c).
 */
static bool
cd_override_decides(const struct geo_override *o, const struct cd_addr *a)
{
	return geo_builtin_in(a->af, a->b, a->af == 4 ? 32 : 128) <=
	       geo_builtin_in(o->af, o->addr, o->plen);
}

/* Where A's country comes from, for explain's steps: the same order. */
static void
cd_geo_why(const struct conf *c, const struct cd_addr *a, char *out, size_t len)
{
	const struct geo_builtin *b;
	int ov = cd_override_find(c, a);

	b = geo_builtin_find((unsigned)a->af, a->b, a->af == 4 ? 32 : 128);
	if (ov >= 0 && cd_override_decides(&c->overrides[ov], a))
		snprintf(out, len, "from a configured override");
	else if (b != NULL && b->cc != GEO_CC_UNKNOWN)
		snprintf(out, len,
		    "special-purpose block (%s): no database "
		    "decides it",
		    b->what);
	else if (b != NULL)
		snprintf(out, len, "%s: the IPv4 address it carries", b->what);
	else
		snprintf(out, len, "from the geolocation tables");
}

/*
 * An inner layer's destination (dst_via), WHAT: "relay" or "origin";
 * the outermost's is the packet's "destination country".
 */
static void
cd_explain_layer_dst(const struct pkt_meta *m, unsigned j, geo_cc_t dcc,
    const char *what, json_t *steps)
{
	char cc[GEO_CC_STRLEN], addr[INET6_ADDRSTRLEN], step[48], how[96];
	const struct pkt_layer_dst *d = &m->layer_dst[j];
	uint32_t a4 = htonl(d->dst4);

	inet_ntop(m->layer[j].af == 4 ? AF_INET : AF_INET6,
	    m->layer[j].af == 4 ? (const void *)&a4 : (const void *)d->dst6,
	    addr, sizeof(addr));
	snprintf(step, sizeof(step), "%s destination country", what);
	snprintf(how, sizeof(how), "%s (dst_via: any layer's destination)",
	    addr);
	cd_step(steps, step, geo_cc_name(dcc, cc), how);
}

/*
 * A layered packet: each layer's source and country, outermost first,
 * and its relay classes when it has some (origin and via judge them).
 */
static void
cd_explain_layers(const struct geo_tables *g, const struct pkt_meta *m,
    const struct cls_why *w, int dst, json_t *steps)
{
	const struct pkt_layer *l;
	char cc[GEO_CC_STRLEN], addr[INET6_ADDRSTRLEN], step[32], how[64];
	char cls[GEO_CLS_MAX * GEO_CLS_NAMELEN], detail[128];
	const char *what;
	uint32_t a4;

	for (unsigned j = 0; j < m->nlayer; j++) {
		l = &m->layer[j];
		a4 = htonl(l->src4);
		inet_ntop(l->af == 4 ? AF_INET : AF_INET6,
		    l->af == 4 ? (const void *)&a4 : (const void *)l->src6,
		    addr, sizeof(addr));
		what = j == 0                ? "source"
		       : j + 1u == m->nlayer ? "origin"
		                             : "relay";
		snprintf(step, sizeof(step), "%s country", what);
		snprintf(how, sizeof(how), "%s%s", addr, j ? " via " : "");
		if (j)
			snprintf(how + strlen(how), sizeof(how) - strlen(how),
			    "%s", pkt_tun_name(l->kind));
		cd_step(steps, step, geo_cc_name(w->layer_cc[j], cc), how);
		if (dst && j)
			cd_explain_layer_dst(m, j, w->layer_dcc[j], what,
			    steps);
		cd_classes_str(g, w->layer_cls[j], cls, sizeof(cls));
		if (cls[0] == '\0')
			continue;
		snprintf(step, sizeof(step), "%s classes", what);
		snprintf(detail, sizeof(detail),
		    "relay classes (geo.classes) of %s, from the same lookup",
		    addr);
		cd_step(steps, step, cls, detail);
	}
}

static void
cd_explain_geo(const struct cd *d, const struct cd_pkt *p,
    const struct cls_why *w, json_t *steps)
{
	const struct cls_verdict *v = &w->v;
	const struct conf *c = d->run.conf;
	char cc[GEO_CC_STRLEN], detail[256];

	char cls[GEO_CLS_MAX * GEO_CLS_NAMELEN];

	if (p->m.nlayer) {
		cd_explain_layers(d->run.geo.tables, &p->m, w,
		    d->run.pol->needs_dst_geo && !p->m.proxied, steps);
	} else {
		cd_geo_why(c, &p->src, detail, sizeof(detail));
		cd_step(steps, "source country", geo_cc_name(v->src_cc, cc),
		    detail);
		cd_classes_str(d->run.geo.tables, v->src_cls, cls, sizeof(cls));
		if (cls[0] != '\0')
			cd_step(steps, "source classes", cls,
			    "relay classes (geo.classes) of the source, "
			    "from the same lookup");
	}
	if (!d->run.pol->needs_dst_geo) {
		cd_step(steps, "destination country", "not looked up",
		    "no rule matches on destination");
		return;
	}
	cd_geo_why(c, &p->dst, detail, sizeof(detail));
	cd_step(steps, "destination country", geo_cc_name(v->dst_cc, cc),
	    detail);
}

static const char *
cd_service_name(const struct policy *pol, const struct cls_verdict *v)
{
	return v->service == POL_SVC_NONE ? "" : pol->service_name[v->service];
}

/* The identity gate turned the flow away, before any rule. */
static bool
cd_unidentified(const struct cls_verdict *v)
{
	return v->reason == CDN_R_NO_SESSION ||
	       v->reason == CDN_R_SESSION_EXPIRED;
}

const char *
cd_verdict_rule(const struct policy *pol, const struct cls_verdict *v)
{
	if (v->rule != POL_RULE_DEFAULT)
		return pol->rule[v->rule].name;
	if (cd_unidentified(v))
		return "(unidentified)";
	return v->reason == CDN_R_KNOCK ? "(knock)" : "(default)";
}

const char *
cd_verdict_detail(const struct cls_verdict *v)
{
	if (v->reason == CDN_R_NO_SESSION)
		return "no session: the unidentified action "
		       "(identity.unidentified)";
	if (v->reason == CDN_R_SESSION_EXPIRED)
		return "the session has expired: the unidentified action "
		       "(identity.unidentified)";
	if (v->reason == CDN_R_KNOCK)
		return "a knock: handed to cordond, never forwarded";
	if (v->reason == CDN_R_TUN_FRAG)
		return "a fragmented tunnel packet: dropped before any "
		       "rule (tun-fragment)";
	if (v->reason == CDN_R_PRX_NOT_INSPECTED)
		return "a trusted relay's flow that cannot be followed: "
		       "dropped whatever the rules say (proxy-not-inspected)";
	return v->rule == POL_RULE_DEFAULT
	           ? "no rule matched: the default action"
	           : "first matching rule";
}

/* The grant holding identity IDENT of the session table, or NULL. */
static const struct cd_grant *
cd_explain_grant(const struct cd *d, uint32_t ident)
{
	if (d->sess == NULL || ident >= d->sess->cap)
		return NULL;
	return d->sess->g[ident];
}

/*
 * The steps between the service and the verdict: a knock, the identity
 * gate, then the rules with the identity set the classifier used.
 */
static void
cd_explain_walk(const struct cd *d, const struct cd_pkt *p,
    const struct cls_why *w, json_t *steps)
{
	const struct cls_verdict *v = &w->v;
	const struct cd_grant *g;
	char detail[256];

	if (v->reason == CDN_R_KNOCK) {
		cd_step(steps, "knock", "knock",
		    "a knock datagram: no rule "
		    "applies");
		return;
	}
	if (w->gate && cd_unidentified(v)) {
		snprintf(detail, sizeof(detail),
		    "%s needs a session; %s: the "
		    "unidentified action, before any rule",
		    cd_service_name(d->run.pol, v),
		    v->reason == CDN_R_SESSION_EXPIRED
		        ? "this source's has expired"
		        : "this source has none");
		cd_step(steps, "identity gate", cdn_reason_name(v->reason),
		    detail);
		return;
	}
	if (w->ident_hit) {
		g = cd_explain_grant(d, w->ident);
		snprintf(detail, sizeof(detail),
		    "session %u (%s): identity "
		    "rules are judged by it",
		    g ? g->sid : 0, g ? g->sub : "?");
		cd_step(steps, "identity gate", "session", detail);
	}
	cd_explain_rules(d, p, w, steps);
}

static json_t *
cd_explain_data(const struct cd *d, const struct cd_pkt *p,
    const struct cls_verdict *v, json_t *steps)
{
	const struct policy *pol = d->run.pol;
	char scc[GEO_CC_STRLEN], dcc[GEO_CC_STRLEN];

	return json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o}",
	    "schema", CD_SCHEMA, "verdict", cdn_action_name(v->action),
	    "reason", cdn_reason_name(v->reason), "rule",
	    cd_verdict_rule(pol, v), "rule_position",
	    v->rule == POL_RULE_DEFAULT ? 0 : (int)v->rule + 1, "src_country",
	    geo_cc_name(v->src_cc, scc), "dst_country",
	    pol->needs_dst_geo ? geo_cc_name(v->dst_cc, dcc) : "", "service",
	    cd_service_name(pol, v), "direction",
	    p->dir == POL_DIR_IN ? "in" : "out", "steps", steps);
}

/* A flow of an identity service that the gate does not judge. */
static bool
cd_gate_skips(const struct policy *pol, const struct cd_pkt *p,
    const struct cls_verdict *v)
{
	return v->service != POL_SVC_NONE &&
	       ((pol->ident_svc >> v->service) & 1) &&
	       !pol_ident_gate(pol, p->dir);
}

/* The fragment table's step, when explain was asked about a fragment. */
static void
cd_explain_frag(const struct cd_pkt *p, struct cls_verdict *v, json_t *steps)
{
	if (p->frag == NULL)
		return;
	/* As the parser: a tunnel is never judged from a piece of it. */
	if (p->m.nlayer) {
		v->action = CDN_ACT_DROP;
		v->reason = CDN_R_TUN_FRAG;
		v->rule = POL_RULE_DEFAULT;
		cd_step(steps, "fragment", p->frag,
		    "a fragmented tunnel "
		    "packet is dropped before any rule (tun-fragment): its "
		    "inside is not all there to judge");
		return;
	}
	if (strcmp(p->frag, "first") == 0) {
		cd_step(steps, "fragment", "first",
		    "judged as the packet it "
		    "starts; the fragment table keeps this verdict for the "
		    "datagram's later fragments");
		return;
	}
	frag_follow_verdict(v);
	cd_step(steps, "fragment", "later",
	    "follows its datagram's first "
	    "fragment, judged above (a reject drops: a later fragment is not "
	    "answered); without its first fragment it is dropped "
	    "(frag-no-first)");
}

int
cd_cmd_explain(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	int64_t now = clk_boot_s(); /* the session table's clock */
	struct cls_why w;
	struct cd_pkt p;
	json_t *steps, *ident;
	const char *prx;
	char port[32];
	bool gate;

	if (cd_pkt_build(d->run.conf, rq->args, &p, e) < 0 ||
	    cd_explain_reported(d->run.pol, rq->args, &p.m, &prx, e) < 0)
		return -1;
	cls_explain(&(struct cls_env){ d->run.pol, d->run.geo.tables,
	                cd_sess_table(d), now },
	    &p.m, p.dir, &w);
	cd_explain_uninspected(d->run.pol, &p.m, &w.v, &prx);
	/* A knock is judged before the gate: it asks for no session. */
	gate = w.gate && w.v.reason != CDN_R_KNOCK;
	steps = json_array();
	if (prx != NULL)
		cd_step(steps, "proxy",
		    w.v.reason == CDN_R_PRX_NOT_INSPECTED ? "not inspected"
		    : p.m.proxied                         ? "reported"
		                                          : "not believed",
		    prx);
	cd_explain_geo(d, &p, &w, steps);
	snprintf(port, sizeof(port), "%u", p.m.dport);
	cd_step(steps, "service",
	    w.v.service == POL_SVC_NONE ? "none"
	                                : cd_service_name(d->run.pol, &w.v),
	    p.pc <= POL_PROTO_UDP ? port : "no destination port");
	if (cd_gate_skips(d->run.pol, &p, &w.v))
		cd_step(steps, "identity", "not judged",
		    "the gate judges "
		    "inbound flows only (identity.direction \"in\")");
	cd_explain_walk(d, &p, &w, steps);
	cd_explain_frag(&p, &w.v, steps);
	cd_step(steps, "verdict", cdn_action_name(w.v.action),
	    cd_verdict_detail(&w.v));
	*data = cd_explain_data(d, &p, &w.v, steps);
	ident = cd_explain_identity(d, rq->args, &p.m, p.dir, &w.v, gate);
	if (ident != NULL)
		json_object_set_new(*data, "identity", ident);
	return 0;
}

/*
 * geo-reload's canaries: the first address of every override answers
 * what the most specific override containing it says, where that
 * override decides.
 */
int
cd_geo_canaries(const struct conf *c, const struct geo_tables *g, char *why,
    size_t len)
{
	for (unsigned i = 0; i < c->noverrides; i++) {
		const struct geo_override *o = &c->overrides[i];
		struct cd_addr a = { .af = o->af };
		char want[GEO_CC_STRLEN], got[GEO_CC_STRLEN];
		char addr[INET6_ADDRSTRLEN];
		int best;
		geo_cls_t cls;
		geo_cc_t cc;

		memcpy(a.b, o->addr, sizeof(a.b));
		best = cd_override_find(c, &a);
		cc = cd_addr_cc(g, &a, &cls);
		if (best >= 0 && cc != c->overrides[best].cc &&
		    cd_override_decides(&c->overrides[best], &a)) {
			inet_ntop(a.af == 4 ? AF_INET : AF_INET6, a.b, addr,
			    sizeof(addr));
			snprintf(why, len,
			    "canary %s resolves to %s, the "
			    "override says %s",
			    addr, geo_cc_name(cc, got),
			    geo_cc_name(c->overrides[best].cc, want));
			return -1;
		}
	}
	return 0;
}
