/*
 * Property test: the nftables compiler's rule list (control/nft/nft_ir.c)
 * against the classifier.  Random configs go through the real loader and
 * policy compiler; random packets get a verdict from cls_classify() and,
 * separately, from the first entry of the rule list that matches them,
 * evaluated as the kernel evaluates its encoding (protocol numbers from
 * nft_ir_protos(), "meta l4proto . th dport/sport" in port ranges,
 * iifname in ports_outside, addresses in country sets).  Both must agree
 * on the action and on what decided (rule, gate, default).
 *
 * Not compared, and counted (see docs/nftables.md for each):
 *   - fragments: never drawn; the kernel reassembles before the chain.
 *   - policies where a rule names relay classes (in src, origin or
 *     via) and origin or via: nftables cannot narrow a class by country
 *     nor intersect classes, so the list is only stricter there
 *     (nft_ir_relay); checked: it never allows what the classifier
 *     refuses.
 *   - knocks (UDP to identity.knock.port, inbound): cordon-dp takes them
 *     off the wire before the rules; the nftables ruleset has no knock
 *     gate, so there the rules judge them.
 *   - identity rules, with a session: the kernel never sees the token
 *     behind a session, so a rule with an identity block that denies
 *     applies to every flow it matches (fail closed) and one that allows
 *     is left out.  Each packet is judged without a session first, and
 *     compared in full (the gate takes every flow an identity rule could
 *     match).  A packet that needs a session is judged again with one
 *     whose token matches a random subset of the identity rules: there
 *     the list must never allow what the classifier refuses, and must
 *     agree exactly whenever neither side decides by an identity rule.
 * The addresses-to-countries step (interval sets, Teredo twins) is
 * test_nft.c's: here countries and relay classes come from
 * geo_lookup4_cls/6_cls, as in cls.c; a source is in a rule's set by its
 * country or by one of its classes ("class:tor" in src).
 * The configs draw no reroute (a next hop needs dataplane ports): the
 * list carries it as one more action; the byte-level check of the
 * encoding is test_nft.c's and the nft suite's golden table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "control/nft/nft_int.h"
#include "control/nft/nft_ir.h"
#include "core/classify/cls.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_util.h"

#define PROP_POLICIES 1000
#define PROP_PACKETS  100
#define PROP_ENCODED  8 /* policies also encoded into a batch */

/* What a packet was not compared for, and how often. */
struct prop_count {
	unsigned cases, compared, knock, omitted, bad_conf;
	unsigned sess_cases, sess_exact;
	unsigned narrowed; /* only "never a wider allow" (nft_ir_relay) */
};

/* A random text config, from the stream *S. */
struct prop_text {
	char buf[8192];
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
put(struct prop_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t->len += (size_t)vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len,
	    fmt, ap);
	va_end(ap);
	assert_true(t->len < sizeof(t->buf));
}

/* One draw below N.  One draw per statement: C leaves the order of a
 * call's arguments open, and a seed must replay the same config. */
static unsigned
pick(uint64_t *s, unsigned n)
{
	return (unsigned)(unit_rnd(s) % n);
}

static const char *const prop_ports[] = { "22", "53", "80", "443", "3389",
	"1000-1010", "1005-1020", "60000-65535", "1", "8080" };
static const char *const prop_places[] = { "prohibited", "west", "CN", "US",
	"unknown", "DE", "FR", "RU" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Services s0..sN-1; s0 never has sports (it may be an identity one). */
static unsigned
gen_services(struct prop_text *t, uint64_t *s)
{
	static const char *const proto[] = { "\"tcp\"", "\"udp\"",
		"[ \"tcp\", \"udp\" ]" };
	unsigned n = 2 + pick(s, 4);

	put(t, "services = {\n");
	for (unsigned i = 0; i < n; i++) {
		put(t, "  s%u = { proto = %s;", i, proto[pick(s, 3)]);
		put(t, " ports = [ \"%s\"",
		    prop_ports[pick(s, NELEM(prop_ports))]);
		if (pick(s, 2))
			put(t, ", \"%s\"",
			    prop_ports[pick(s, NELEM(prop_ports))]);
		put(t, " ];");
		if (i > 0 && pick(s, 6) == 0)
			put(t, " sports = \"%s\";",
			    pick(s, 2) ? "3544" : "1000-1010");
		put(t, " };\n");
	}
	put(t, "};\n");
	return n;
}

/* Identity for s0; returns whether its gate judges every direction. */
static bool
gen_identity(struct prop_text *t, uint64_t *s)
{
	bool any = pick(s, 2), drop = pick(s, 2), log = pick(s, 2);

	put(t,
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\"; algorithms = \"ES256\";"
	    " } );\n  services = \"s0\"; direction = \"%s\";\n"
	    "  unidentified = { action = \"%s\"; log = %s; };\n",
	    any ? "any" : "in", drop ? "drop" : "reject",
	    log ? "true" : "false");
	if (pick(s, 3) == 0)
		put(t, "  knock = { port = 47470; };\n");
	put(t, "};\n");
	return any;
}

static void
gen_places(struct prop_text *t, uint64_t *s, const char *key)
{
	unsigned n = 1 + pick(s, 3);

	put(t, " %s = [ ", key);
	for (unsigned i = 0; i < n; i++) {
		/* Classes: sources only; rarer in origin and via, where
		 * most rules they are in are only checked for allows. */
		if (strncmp(key, "dst", 3) != 0 &&
		    pick(s, strcmp(key, "src") == 0 ? 4 : 8) == 0) {
			put(t, "%s\"class:%s\"", i ? ", " : "",
			    pick(s, 2) ? "tor" : "vpn");
			continue;
		}
		put(t, "%s\"%s\"", i ? ", " : "",
		    prop_places[pick(s, NELEM(prop_places))]);
	}
	put(t, " ];");
}

/* What the rule matches at layer 4; IDENT: it may take an identity block. */
static bool
gen_l4(struct prop_text *t, uint64_t *s, unsigned nsvc, bool ident)
{
	static const char *const protos[] = { "\"tcp\"", "\"udp\"", "\"icmp\"",
		"\"other\"", "[ \"icmp\", \"other\" ]", "[ \"tcp\", \"icmp\" ]",
		"\"any\"" };
	unsigned k = pick(s, 5);

	if (k == 0 && ident) {
		put(t, " services = \"s0\";");
		return true;
	}
	if (k <= 1) {
		unsigned a = pick(s, nsvc), b = pick(s, nsvc);

		put(t, " services = [ \"s%u\"%s", a, a != b ? ", " : "");
		if (a != b)
			put(t, "\"s%u\"", b);
		put(t, " ];");
	} else if (k == 2) {
		put(t, " ports = [ \"%s\" ];",
		    prop_ports[pick(s, NELEM(prop_ports))]);
		if (pick(s, 2))
			put(t, " proto = \"udp\";");
	} else if (k == 3) {
		put(t, " proto = %s;", protos[pick(s, NELEM(protos))]);
	}
	return false;
}

static void
gen_rule(struct prop_text *t, uint64_t *s, unsigned i, unsigned nsvc,
    bool ident, bool gate_any)
{
	static const char *const dirs[] = { "any", "in", "out" };
	static const char *const acts[] = { "allow", "drop", "reject" };
	bool id;

	put(t, "%s  { name = \"r%u\";", i ? ",\n" : "", i);
	if (pick(s, 2))
		gen_places(t, s, "src");
	if (pick(s, 4) == 0)
		gen_places(t, s, "dst");
	if (pick(s, 5) == 0)
		gen_places(t, s, "origin");
	if (pick(s, 6) == 0)
		gen_places(t, s, "via");
	if (pick(s, 6) == 0)
		gen_places(t, s, "dst_via");
	id = gen_l4(t, s, nsvc, ident) && pick(s, 2);
	if (id)
		put(t, " identity = { sub = [ \"alice\" ]; };");
	put(t, " direction = \"%s\";", dirs[pick(s, id && !gate_any ? 2 : 3)]);
	put(t, " action = \"%s\";", acts[pick(s, 3)]);
	put(t, "%s }", pick(s, 4) ? "" : " log = true;");
}

static void
gen_conf(struct prop_text *t, uint64_t *s)
{
	unsigned nsvc, nrules = 1 + pick(s, 10);
	bool ident = pick(s, 2) == 0, gate_any = false;

	t->len = 0;
	/* Class files are the geo compiler's: prop_tables() stands in. */
	put(t, "geo = { classes = ( { name = \"tor\"; prefixes = "
	       "\"/dev/null\"; },\n  { name = \"vpn\"; prefixes = "
	       "\"/dev/null\"; } ); };\n");
	put(t, "regions = { prohibited = [ \"CN\", \"RU\" ];\n"
	       "  west = [ \"US\", \"DE\", \"FR\" ]; };\n");
	nsvc = gen_services(t, s);
	if (ident)
		gate_any = gen_identity(t, s);
	put(t, "rules = (\n");
	for (unsigned i = 0; i < nrules; i++)
		gen_rule(t, s, i, nsvc, ident, gate_any);
	put(t, "\n);\ndefault = { action = \"%s\"; };\n",
	    pick(s, 2) ? "allow" : "drop");
	put(t, "source_route = \"%s\";\n", pick(s, 3) ? "drop" : "allow");
}

/* Loads and compiles TEXT into C and P: 0, or -1 (refused config). */
static int
compile(const struct prop_text *t, struct conf *c, struct policy *p)
{
	char path[] = "/tmp/test_nft_prop.XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f;
	int rc;

	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(t->buf, f);
	fclose(f);
	rc = conf_load(path, c, err, sizeof(err));
	unlink(path);
	if (rc < 0) {
		if (getenv("PROP_VERBOSE"))
			printf("%s\n%s\n", err, t->buf);
		return -1;
	}
	if (pol_compile(c, NULL, p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return 0;
}

static struct geo_tables *
prop_tables(void)
{
	struct geo_tables *g = geo_tables_create();
	static const struct {
		const char *a6;
		unsigned plen;
		const char *cc;
	} v6[] = { { "2001:db8:1::", 48, "CN" }, { "2001:db8:2::", 48, "DE" },
		{ "2001:db8:3::", 48, "US" } };
	uint8_t a[16];

	assert_non_null(g);
	assert_int_equal(geo_v4_set(g, 0xc6336400, 24, geo_cc_parse("CN")), 0);
	assert_int_equal(geo_v4_set(g, 0x0a000000, 8, geo_cc_parse("RU")), 0);
	assert_int_equal(geo_v4_set(g, 0xc0000200, 24, geo_cc_parse("US")), 0);
	assert_int_equal(geo_v4_set(g, 0xcb007100, 24, geo_cc_parse("DE")), 0);
	for (unsigned i = 0; i < NELEM(v6); i++) {
		inet_pton(AF_INET6, v6[i].a6, a);
		assert_int_equal(geo_v6_set(g, a, v6[i].plen,
		                     geo_cc_parse(v6[i].cc)),
		    0);
	}
	inet_pton(AF_INET6, "::ffff:0:0", a);
	assert_int_equal(geo_v6_set_alias4(g, a, 96), 0);
	/* Relay classes: tor (bit 0) and vpn (bit 1), some overlapping,
	 * one over addresses of no country. */
	assert_int_equal(geo_v4_add_cls(g, 0xc6336480, 25, 1), 0);
	assert_int_equal(geo_v4_add_cls(g, 0x0a010000, 16, 2), 0);
	assert_int_equal(geo_v4_add_cls(g, 0xc0000200, 26, 3), 0);
	assert_int_equal(geo_v4_add_cls(g, 0x2d000000, 8, 1), 0);
	inet_pton(AF_INET6, "2001:db8:2:8000::", a);
	assert_int_equal(geo_v6_add_cls(g, a, 49, 2), 0);
	return g;
}

static uint32_t
rnd_addr4(uint64_t *s)
{
	static const uint32_t base[] = { 0xc6336400, 0x0a000000, 0xc0000200,
		0xcb007100, 0xc6336480, 0x0a010000, 0x2d000000 };
	uint32_t r = (uint32_t)unit_rnd(s);

	return pick(s, 5) ? base[pick(s, NELEM(base))] | (r & 0xff) : r;
}

static void
rnd_addr6(uint64_t *s, uint8_t a[16])
{
	static const char *const base[] = { "2001:db8:1::", "2001:db8:2::",
		"2001:db8:3::", "::ffff:0:0" };
	uint64_t r = unit_rnd(s);
	uint32_t a4;
	unsigned k = pick(s, 5);

	if (k == 4) {
		for (unsigned i = 0; i < 16; i++)
			a[i] = (uint8_t)unit_rnd(s);
		return;
	}
	inet_pton(AF_INET6, base[k], a);
	if (k == 3) {
		a4 = htonl(rnd_addr4(s));
		memcpy(a + 12, &a4, 4);
	} else {
		memcpy(a + 8, &r, 8);
	}
}

static uint16_t
rnd_port(uint64_t *s)
{
	static const uint16_t pool[] = { 22, 53, 80, 443, 3389, 999, 1000, 1004,
		1010, 1011, 1020, 1021, 3544, 8080, 47470, 59999, 60000, 65535,
		0, 1, 2 };

	return pick(s, 4) ? pool[pick(s, NELEM(pool))] : (uint16_t)unit_rnd(s);
}

static void
rnd_packet(uint64_t *s, struct pkt_meta *m, unsigned *dir)
{
	static const uint8_t protos[] = { 6, 6, 17, 17, 1, 58, 47, 51, 0, 132 };

	memset(m, 0, sizeof(*m));
	m->af = pick(s, 2) ? 4 : 6;
	if (m->af == 4) {
		m->src4 = rnd_addr4(s);
		m->dst4 = rnd_addr4(s);
	} else {
		rnd_addr6(s, m->src6);
		rnd_addr6(s, m->dst6);
	}
	m->l4proto = protos[pick(s, NELEM(protos))];
	m->has_l4 = m->l4proto == 6 || m->l4proto == 17;
	if (m->has_l4) {
		m->sport = rnd_port(s);
		m->dport = rnd_port(s);
	}
	m->srcroute = pick(s, 10) == 0;
	*dir = pick(s, 2) ? POL_DIR_IN : POL_DIR_OUT;
}

static bool
in_ranges(const struct nft_ir_ports *l, uint8_t l4proto, uint16_t port)
{
	uint8_t l4 = l4proto == 6 ? POL_PROTO_TCP : POL_PROTO_UDP;

	if (l4proto != 6 && l4proto != 17)
		return false;
	for (unsigned i = 0; i < l->n; i++)
		if (l->v[i].l4 == l4 && port >= l->v[i].lo &&
		    port <= l->v[i].hi)
			return true;
	return false;
}

/* "meta l4proto @rN_proto_vF" as encoded (with the inverted lookup). */
static bool
in_protos(const struct nft_ir_rule *r, const struct pkt_meta *m)
{
	uint8_t num[256];
	bool inv;
	unsigned n = nft_ir_protos(r->protos, m->af, num, &inv);

	if (r->protos == NFT_IR_PROTOS_ANY)
		return true;
	for (unsigned k = 0; k < n; k++)
		if (num[k] == m->l4proto)
			return !inv;
	return inv;
}

static bool
rule_matches(const struct nft_ir_rule *r, const struct pkt_meta *m,
    unsigned dir, geo_cc_t src, geo_cls_t scls, geo_cc_t dst)
{
	if (!((r->dirs >> dir) & 1))
		return false;
	if (!r->src_any && !conf_ccset_has(&r->src, src) &&
	    !(r->src.cls & scls))
		return false;
	if (!r->dst_any && !conf_ccset_has(&r->dst, dst))
		return false;
	if (r->ports_any)
		return in_protos(r, m);
	/* The rule and its sports twin. */
	return in_ranges(&r->dport, m->l4proto, m->dport) ||
	       in_ranges(&r->sport, m->l4proto, m->sport);
}

/* Does the tunnel entry R take M: IP-in-IP, GRE or a tunnel's port? */
static bool
is_tunnel(const struct nft_ir_rule *r, const struct pkt_meta *m)
{
	if (m->l4proto == 4 || m->l4proto == 41 || m->l4proto == 47 ||
	    m->l4proto == 97 || m->l4proto == 137)
		return true;
	return m->l4proto == 17 &&
	       ((r->vxlan && m->dport == r->vxlan) ||
	           (r->geneve && m->dport == r->geneve) ||
	           (r->teredo &&
	               (m->dport == r->teredo || m->sport == r->teredo)));
}

/* The first entry of IR that takes M (SESS: its source and port have a
 * session): its index. */
static unsigned
ir_eval(const struct nft_ir *ir, const struct geo_tables *g,
    const struct pkt_meta *m, unsigned dir, bool sess)
{
	geo_cls_t scls;
	geo_cc_t src = m->af == 4 ? geo_lookup4_cls(g, m->src4, &scls)
	                          : geo_lookup6_cls(g, m->src6, &scls);
	geo_cc_t dst = m->af == 4 ? geo_lookup4(g, m->dst4)
	                          : geo_lookup6(g, m->dst6);

	for (unsigned i = 0; i < ir->n; i++) {
		const struct nft_ir_rule *r = &ir->r[i];

		if (r->omit)
			continue;
		switch (r->kind) {
		case NFT_IR_SRCROUTE:
			if (m->srcroute)
				return i;
			break;
		case NFT_IR_TUNNEL:
			if (is_tunnel(r, m))
				return i;
			break;
		case NFT_IR_GATE:
			if (!sess && ((r->dirs >> dir) & 1) &&
			    in_ranges(&r->dport, m->l4proto, m->dport))
				return i;
			break;
		case NFT_IR_RULE:
			if (rule_matches(r, m, dir, src, scls, dst))
				return i;
			break;
		default:
			return i;
		}
	}
	fail_msg("the rule list has no default");
	return 0;
}

/* Does the classifier's verdict V say what entry R of the list says? */
static void
agree(const struct nft_ir_rule *r, const struct cls_verdict *v,
    const struct prop_text *t, unsigned pkt)
{
	uint16_t rule = r->kind == NFT_IR_RULE ? r->rule : POL_RULE_DEFAULT;
	int reason = r->kind == NFT_IR_SRCROUTE ? CDN_R_SRCROUTE
	             : r->kind == NFT_IR_GATE   ? CDN_R_NO_SESSION
	                                        : -1;

	/* The kernel cannot look inside: a tunnel is dropped, stricter
	 * than (or as strict as) any verdict on its inside. */
	if (r->kind == NFT_IR_TUNNEL) {
		if (r->action != CDN_ACT_DROP)
			fail_msg("packet %u: a tunnel entry that does not "
			         "drop",
			    pkt);
		return;
	}

	if (v->action == r->action && v->rule == rule &&
	    (reason < 0 ? v->reason != CDN_R_SRCROUTE &&
	                      v->reason != CDN_R_NO_SESSION
	                : v->reason == reason))
		return;
	fail_msg("packet %u: classifier action %u rule %u reason %u, rule "
	         "list entry kind %u rule %u action %u\nconfig:\n%s",
	    pkt, v->action, v->rule, v->reason, r->kind, r->rule, r->action,
	    t->buf);
}

/* A session table of one token, whose rule bits the rounds rewrite. */
static struct sess_table *
prop_sess(void)
{
	struct sess_table *t;
	char err[128];
	int fd;

	assert_int_equal(sess_create(64, 1, POL_WORDS, &t, &fd, err,
	                     sizeof(err)),
	    0);
	close(fd);
	return t;
}

/*
 * M needed a session and had none: again with one, whose token matches
 * the rules without an identity block and a random subset of the others.
 */
static void
prop_session(const struct cls_env *e0, struct sess_table *st,
    const struct nft_ir *ir, const struct pkt_meta *m, unsigned dir,
    uint8_t svc, uint64_t *s, struct prop_count *n)
{
	struct cls_env e = *e0;
	const struct policy *p = e.pol;
	const struct nft_ir_rule *r;
	struct pol_set bits = p->noident;
	struct cls_verdict v;
	struct sess_key k;

	for (unsigned w = 0; w < POL_WORDS; w++)
		bits.w[w] |= unit_rnd(s);
	assert_int_equal(sess_ident_set(st, 0, bits.w), 0);
	cls_sess_key(m, svc, &k);
	assert_int_equal(sess_put(st, &k, 1000, 1, 0), 0);
	e.sess = st;
	cls_classify(&e, m, dir, &v);
	assert_int_equal(sess_del(st, &k), 0);
	r = &ir->r[ir_eval(ir, e.geo, m, dir, true)];
	n->sess_cases++;
	/* Never an allow the classifier refuses. */
	if (r->action == CDN_ACT_ALLOW)
		assert_int_equal(v.action, CDN_ACT_ALLOW);
	if (r->kind == NFT_IR_TUNNEL || (r->kind == NFT_IR_RULE && r->ident) ||
	    v.reason == CDN_R_IDENTITY ||
	    (v.rule != POL_RULE_DEFAULT &&
	        !((p->noident.w[v.rule / 64] >> (v.rule % 64)) & 1)))
		return;
	assert_int_equal(v.action, r->action);
	assert_int_equal(v.rule,
	    r->kind == NFT_IR_RULE ? r->rule : POL_RULE_DEFAULT);
	n->sess_exact++;
}

static bool
prop_has(const struct pol_set *s, unsigned i)
{
	return (s->w[i / 64] >> (i % 64)) & 1;
}

/*
 * Does a rule of P name relay classes (in src, origin or via) and more
 * than one source list that is not "any" (src, origin, via)?
 */
static bool
prop_narrowed(const struct policy *p)
{
	for (unsigned i = 0; i < p->nrules; i++) {
		bool cls = false, sn = false, o = false, v = false;

		for (unsigned k = 0; k < GEO_CLS_MAX; k++)
			cls |= prop_has(&p->src_cls[k], i) ||
			       prop_has(&p->origin_cls[k], i) ||
			       prop_has(&p->via_cls[k], i);
		for (unsigned c = 0; c < GEO_CC_MAX; c++) {
			sn |= !prop_has(&p->src_cc[c], i);
			o |= !prop_has(&p->origin_cc[c], i);
			v |= !prop_has(&p->via_cc[c], i);
		}
		if (cls && sn + o + v > 1)
			return true;
	}
	return false;
}

static void
prop_packets(const struct policy *p, const struct nft_ir *ir,
    const struct geo_tables *g, struct sess_table *st,
    const struct prop_text *t, uint64_t *s, struct prop_count *n)
{
	struct cls_env e = { .pol = p, .geo = g };
	struct cls_verdict v;
	struct pkt_meta m;
	unsigned dir;

	for (unsigned k = 0; k < PROP_PACKETS; k++) {
		const struct nft_ir_rule *r;

		rnd_packet(s, &m, &dir);
		cls_classify(&e, &m, dir, &v);
		r = &ir->r[ir_eval(ir, g, &m, dir, false)];
		n->cases++;
		if (v.reason == CDN_R_KNOCK) {
			n->knock++;
			continue;
		}
		/* Classes and origin/via in one rule: the list is only
		 * stricter (nft_ir_relay), never allows more. */
		if (prop_narrowed(p)) {
			if (r->action == CDN_ACT_ALLOW)
				assert_int_equal(v.action, CDN_ACT_ALLOW);
			n->narrowed++;
			continue;
		}
		agree(r, &v, t, k);
		n->compared++;
		if (v.reason == CDN_R_NO_SESSION)
			prop_session(&e, st, ir, &m, dir, v.service, s, n);
	}
}

/* The encoder takes every list the compiler makes. */
static void
prop_encode(const struct conf *c, const struct policy *p,
    const struct geo_tables *g)
{
	struct nft_opts o = { .mode = NFT_MODE_ROUTER, .no_routes = true };
	struct nft_batch b;
	char err[256];

	assert_int_equal(nft_batch_init(&b, 100), 0);
	if (nft_build(&b, "cordon", c, p, g, &o, NULL, 0, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	nft_batch_free(&b);
}

static void
test_rule_list_vs_classifier(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct nft_ir *ir = calloc(1, sizeof(*ir));
	struct prop_text *t = calloc(1, sizeof(*t));
	struct geo_tables *g = prop_tables();
	struct sess_table *sessions = prop_sess();
	struct prop_count n = { 0 };
	uint64_t s = 12;

	(void)st;
	assert_true(c && p && ir && t);
	for (unsigned i = 0; i < PROP_POLICIES; i++) {
		gen_conf(t, &s);
		if (compile(t, c, p) < 0) {
			n.bad_conf++;
			continue;
		}
		assert_int_equal(nft_ir_build(p, ir), 0);
		for (unsigned k = 0; k < ir->n; k++)
			n.omitted += ir->r[k].omit;
		if (i < PROP_ENCODED)
			prop_encode(c, p, g);
		prop_packets(p, ir, g, sessions, t, &s, &n);
		nft_ir_free(ir);
	}
	printf("nft rule list vs classifier: %u policies (%u refused by the "
	       "loader), %u packets: %u compared, %u knocks, %u only for "
	       "allows (classes narrowed); %u rules left out; "
	       "with a session %u packets, %u of them decided by no identity "
	       "rule\n",
	    (unsigned)PROP_POLICIES, n.bad_conf, n.cases, n.compared, n.knock,
	    n.narrowed, n.omitted, n.sess_cases, n.sess_exact);
	/* The generator must mostly write configs the loader takes. */
	assert_true(n.bad_conf < PROP_POLICIES / 10);
	assert_true(n.compared > (n.cases - n.narrowed) * 9 / 10);
	assert_true(n.narrowed > 0 && n.narrowed < n.cases / 2);
	assert_true(n.sess_cases > 0 && n.sess_exact > 0);
	sess_detach(sessions);
	geo_tables_free(g);
	free(t);
	free(ir);
	free(p);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_list_vs_classifier),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
