/*
 * Property (issue 12): explain, the classifier and replay are one
 * evaluation.  Random policies (config text through the real loader and
 * policy compiler) meet random packets, from fixed seeds.  For every
 * packet explain's verdict (cls_explain, on the packet key as cordonctl
 * gives it) equals cls_classify's and replay's (a frame built from the
 * same key, through the parser); its rule steps end at the deciding rule
 * and name, for every earlier one, a compiled set that lacks it.  Where
 * the test's own record of a rule can tell (countries, direction,
 * identity block, relay classes in src, origin and via: an untunnelled
 * packet is its own origin and only layer), the named set is the right
 * one.  With a session table
 * (random rule bits, live or expired) explain and the classifier agree
 * too; replay has no sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "core/classify/cls_fmt.h"
#include "core/replay/replay.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"
#include "tests/unit/unit_util.h"

#define NOW        1000
#define NCC        5 /* countries in the tables; index NCC: none */
#define RULES_MAX  12
#define POLICIES   300
#define PACKETS    40
#define KNOCK_PORT 47470

static const char *const cc_name[NCC] = { "US", "CN", "RU", "DE", "FR" };

/* What the test knows of a rule, besides its text. */
struct gen_rule {
	uint8_t src_any, dst_any;
	uint8_t src[NCC + 1], dst[NCC + 1]; /* by country index */
	uint8_t src_cls;                    /* "class:" items, bits */
	uint8_t origin_any, via_any;        /* origin, via (classes too) */
	uint8_t origin[NCC + 1], via[NCC + 1];
	uint8_t origin_cls, via_cls;
	uint8_t dir;   /* enum conf_dir */
	uint8_t ident; /* has an identity block */
};

struct gen {
	uint64_t rnd;
	char text[16384];
	size_t len;
	uint8_t bad[NCC + 1]; /* region "bad" */
	uint8_t ident;        /* identity group */
	uint8_t ident_rdp;    /* rdp needs a session too */
	uint8_t gate_any;     /* identity.direction "any" */
	unsigned nrules;
	struct gen_rule rule[RULES_MAX];
};

struct world {
	struct gen g;
	struct policy *p;
	struct geo_tables *geo;
	struct sess_table *t;
	int tfd;
	char ctx[512]; /* the case, printed when it fails */
};

static unsigned
rnd(struct gen *g, unsigned n)
{
	return (unsigned)(unit_rnd(&g->rnd) % n);
}

static void
put(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(g->text + g->len, sizeof(g->text) - g->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(g->text) - g->len);
	g->len += (size_t)n;
}

/* ---- policies ---------------------------------------------------- */

/* Relay classes: bit 0 "tor", bit 1 "vpn" (geo_make places them). */
#define CLS_TOR 1u
#define CLS_VPN 2u

static void
gen_head(struct gen *g)
{
	static const char *const bad[] = { "CN", "RU", "DE" };
	unsigned mask = 1 + rnd(g, 7), n = 0;

	/* The loader only names the files: the tables are made here. */
	put(g, "geo = { classes = ( { name = \"tor\"; prefixes = "
	       "\"/dev/null\"; },\n  { name = \"vpn\"; asn = [ 64500 ]; } );\n"
	       "  asn_database = \"/dev/null\"; };\n");
	put(g,
	    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"
	    "  rdp = { proto = [ \"tcp\", \"udp\" ]; ports = \"3389\"; };\n"
	    "  dns = { proto = \"udp\"; ports = \"53\"; };\n"
	    "  web = { proto = \"tcp\"; ports = ( 80, 443 ); };\n"
	    "  hi = { proto = %s; ports = \"%u-%u\"; };\n"
	    "  relay = { proto = \"udp\"; ports = \"4000\";"
	    " sports = \"3544\"; }; };\n",
	    rnd(g, 2) ? "\"tcp\"" : "[ \"tcp\", \"udp\" ]", 1000 + rnd(g, 50),
	    1050 + rnd(g, 50));
	put(g, "regions = { bad = [ ");
	for (unsigned i = 0; i < 3; i++)
		if (mask & (1u << i)) {
			put(g, "%s\"%s\"", n++ ? ", " : "", bad[i]);
			g->bad[1 + i] = 1;
		}
	put(g, " ]; };\n");
	put(g, "default = { action = \"%s\"; };\n",
	    rnd(g, 2) ? "allow" : "drop");
	/* Header-only frames: no UDP port may be taken for a tunnel. */
	put(g, "tunnels = { vxlan_port = 0; geneve_port = 0; teredo_port = 0;"
	       " dtls_port = 0; opaque_udp = [ ]; };\n");
}

static void
gen_identity(struct gen *g)
{
	g->ident = rnd(g, 2);
	if (!g->ident)
		return;
	g->ident_rdp = rnd(g, 2);
	g->gate_any = rnd(g, 2);
	put(g,
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\";"
	    " algorithms = \"ES256\"; } );\n"
	    "  services = %s; direction = \"%s\";\n"
	    "  unidentified = { action = \"%s\"; };\n%s};\n",
	    g->ident_rdp ? "[ \"ssh\", \"rdp\" ]" : "\"ssh\"",
	    g->gate_any ? "any" : "in", rnd(g, 2) ? "drop" : "reject",
	    rnd(g, 2) ? "  knock = { port = 47470; };\n" : "");
}

/*
 * A country list for src, dst, origin or via; marks the countries it
 * holds (and, given CLS, the relay classes).
 */
static void
gen_side(struct gen *g, const char *key, uint8_t *any, uint8_t *set,
    uint8_t *cls)
{
	unsigned n = 1 + rnd(g, 2);

	*any = 1;
	if (rnd(g, 2))
		return;
	*any = 0;
	put(g, " %s = [", key);
	for (unsigned i = 0; i < n; i++) {
		unsigned k = rnd(g, NCC + 2);

		if (k < NCC) {
			put(g, "%s \"%s\"", i ? "," : "", cc_name[k]);
			set[k] = 1;
		} else if (k == NCC) {
			put(g, "%s \"unknown\"", i ? "," : "");
			set[NCC] = 1;
		} else if (cls != NULL && rnd(g, 2)) {
			k = rnd(g, 2);
			put(g, "%s \"class:%s\"", i ? "," : "",
			    k ? "vpn" : "tor");
			*cls |= (uint8_t)(1u << k);
		} else {
			put(g, "%s \"bad\"", i ? "," : "");
			for (unsigned c = 0; c <= NCC; c++)
				set[c] |= g->bad[c];
		}
	}
	put(g, " ];");
}

static void
gen_ports(struct gen *g)
{
	static const char *const svc[] = { "ssh", "rdp", "dns", "web", "hi",
		"relay" };
	static const char *const proto[] = { "tcp", "udp", "icmp", "other" };
	unsigned k = rnd(g, 10);

	if (k < 5) {
		put(g, " services = [ \"%s\"", svc[rnd(g, 6)]);
		if (rnd(g, 2))
			put(g, ", \"%s\"", svc[rnd(g, 6)]);
		put(g, " ];");
	} else if (k < 7) {
		put(g, " ports = ( %u, \"%u-%u\" );", 1 + rnd(g, 100),
		    1000 + rnd(g, 60), 1060 + rnd(g, 60));
	}
	if (k < 7) {
		if (rnd(g, 3) == 0)
			put(g, " proto = [ \"tcp\", \"udp\" ];");
	} else if (rnd(g, 2)) {
		put(g, " proto = [ \"%s\", \"%s\" ];", proto[rnd(g, 4)],
		    proto[rnd(g, 4)]);
	}
}

static void
gen_rule(struct gen *g, unsigned i)
{
	static const char *const act[] = { "allow", "drop", "reject" };
	static const char *const dir[] = { "any", "in", "out" };
	struct gen_rule *r = &g->rule[i];

	put(g, "%s{ name = \"r%u\";", i ? ",\n" : "", i);
	gen_side(g, "src", &r->src_any, r->src, &r->src_cls);
	gen_side(g, "dst", &r->dst_any, r->dst, NULL);
	r->origin_any = r->via_any = 1;
	if (rnd(g, 4) == 0)
		gen_side(g, "origin", &r->origin_any, r->origin,
		    &r->origin_cls);
	if (rnd(g, 4) == 0)
		gen_side(g, "via", &r->via_any, r->via, &r->via_cls);
	r->ident = g->ident && rnd(g, 4) == 0;
	r->dir = (uint8_t)rnd(g, 3);
	/* Only inbound flows carry a session unless the gate takes all. */
	if (r->ident && r->dir == CONF_DIR_OUT && !g->gate_any)
		r->dir = CONF_DIR_IN;
	if (rnd(g, 2) || r->dir != CONF_DIR_ANY)
		put(g, " direction = \"%s\";", dir[r->dir]);
	if (r->ident)
		put(g, " services = \"%s\"; identity = { groups = \"ops\"; };",
		    g->ident_rdp && rnd(g, 2) ? "rdp" : "ssh");
	else
		gen_ports(g);
	put(g, " action = \"%s\"; }", act[rnd(g, 3)]);
}

static void
gen_policy(struct gen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->rnd = seed;
	gen_head(g);
	gen_identity(g);
	g->nrules = 1 + rnd(g, RULES_MAX);
	put(g, "rules = (\n");
	for (unsigned i = 0; i < g->nrules; i++)
		gen_rule(g, i);
	put(g, " );\n");
}

/* The real loader and compiler, on the generated text. */
static struct policy *
compile(const struct gen *g)
{
	char path[] = "/tmp/test_explain.XXXXXX", err[512] = "";
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	int fd = mkstemp(path);
	FILE *f;

	assert_non_null(c);
	assert_non_null(p);
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(g->text, f);
	fclose(f);
	if (conf_load(path, c, err, sizeof(err)) < 0 ||
	    pol_compile(c, NULL, p, err, sizeof(err)) < 0)
		fail_msg("%s\n%s", err, g->text);
	unlink(path);
	assert_int_equal(p->nrules, g->nrules);
	free(c);
	return p;
}

/*
 * Relay classes over 10.K.0.0/16 and 2001:db8:K::/48 (K = 9: no
 * country): the upper half (third byte, IPv6 seventh) is "tor", the
 * second and fourth quarters "vpn".
 */
static void
geo_classes(struct geo_tables *t, unsigned k)
{
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)k };
	uint32_t a4 = 0x0a000000u | k << 16;

	assert_int_equal(geo_v4_add_cls(t, a4 | 0x8000, 17, CLS_TOR), 0);
	assert_int_equal(geo_v4_add_cls(t, a4 | 0x4000, 18, CLS_VPN), 0);
	assert_int_equal(geo_v4_add_cls(t, a4 | 0xc000, 18, CLS_VPN), 0);
	a6[6] = 0x80;
	assert_int_equal(geo_v6_add_cls(t, a6, 49, CLS_TOR), 0);
	a6[6] = 0x40;
	assert_int_equal(geo_v6_add_cls(t, a6, 50, CLS_VPN), 0);
	a6[6] = 0xc0;
	assert_int_equal(geo_v6_add_cls(t, a6, 50, CLS_VPN), 0);
}

/* The classes of address A as geo_classes placed them. */
static uint8_t
model_cls(uint8_t af, const uint8_t *a)
{
	uint8_t b = af == 4 ? a[2] : a[6];

	return (uint8_t)((b & 0x80 ? CLS_TOR : 0) | (b & 0x40 ? CLS_VPN : 0));
}

/* 10.K.0.0/16 and 2001:db8:K::/48 are country K; K = NCC is in none. */
static struct geo_tables *
geo_make(void)
{
	struct geo_tables *t = geo_tables_create();
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	assert_non_null(t);
	for (unsigned k = 0; k < NCC; k++) {
		a6[5] = (uint8_t)k;
		assert_int_equal(geo_v4_set(t, 0x0a000000u | k << 16, 16,
		                     (geo_cc_t)geo_cc_parse(cc_name[k])),
		    0);
		assert_int_equal(geo_v6_set(t, a6, 48,
		                     (geo_cc_t)geo_cc_parse(cc_name[k])),
		    0);
		geo_classes(t, k);
	}
	geo_classes(t, 9);
	return t;
}

/* ---- packets ----------------------------------------------------- */

struct pkt_case {
	struct cls_key k;
	unsigned sk, dk; /* country indexes */
	unsigned dir;    /* enum pol_dir */
};

static uint16_t
gen_port(struct gen *g)
{
	static const uint16_t hot[] = { 22, 53, 80, 443, 3389, 3544, 4000,
		KNOCK_PORT, 1000, 1049, 1050, 1099, 1119 };

	if (rnd(g, 3))
		return hot[rnd(g, sizeof(hot) / sizeof(hot[0]))];
	return (uint16_t)(1 + rnd(g, 65535));
}

static void
gen_addr(struct gen *g, uint8_t af, unsigned k, uint8_t *a)
{
	memset(a, 0, 16);
	if (af == 4) {
		a[0] = 10;
		a[1] = (uint8_t)(k < NCC ? k : 9);
		a[2] = (uint8_t)rnd(g, 256);
		a[3] = (uint8_t)(1 + rnd(g, 254));
		return;
	}
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[5] = (uint8_t)(k < NCC ? k : 9);
	a[6] = (uint8_t)rnd(g, 256);
	a[15] = (uint8_t)(1 + rnd(g, 254));
}

/* An ICMP type the parser takes as it is, for either family. */
static uint16_t
gen_icmp(struct gen *g, uint8_t af)
{
	static const uint8_t t4[] = { 0, 3, 8, 11 }, t6[] = { 1, 3, 128, 129 };

	return (uint16_t)((af == 4 ? t4 : t6)[rnd(g, 4)] << 8);
}

static void
gen_packet(struct gen *g, struct pkt_case *c)
{
	static const uint8_t proto[] = { 6, 6, 17, 17, 1, 58, 89, 132 };

	memset(c, 0, sizeof(*c));
	c->k.af = rnd(g, 2) ? 4 : 6;
	c->sk = rnd(g, NCC + 1);
	c->dk = rnd(g, NCC + 1);
	gen_addr(g, c->k.af, c->sk, c->k.src);
	gen_addr(g, c->k.af, c->dk, c->k.dst);
	c->k.l4proto = proto[rnd(g, sizeof(proto))];
	c->k.sport = gen_port(g);
	c->k.dport = gen_port(g);
	/* Often enough a flow the identity gate may ask a session of. */
	if (rnd(g, 4) == 0) {
		c->k.l4proto = rnd(g, 3) ? 6 : 17;
		c->k.dport = rnd(g, 2) ? 22 : 3389;
	}
	if (cls_proto_class(c->k.l4proto, c->k.af) == POL_PROTO_ICMP)
		c->k.sport = gen_icmp(g, c->k.af);
	c->dir = rnd(g, 2) ? POL_DIR_IN : POL_DIR_OUT;
}

/* The frame replay would read for key K. */
static void
frame_build(const struct cls_key *k, struct pkt_frame *f)
{
	uint8_t *ip;

	pkt_fr_eth(f, NULL, 0, k->af == 4 ? 0x0800 : 0x86dd);
	if (k->af == 4)
		pkt_fr_ip4(f, k->l4proto, 0, 0);
	else
		pkt_fr_ip6(f, k->l4proto);
	ip = f->b + f->l3;
	memcpy(ip + (k->af == 4 ? 12 : 8), k->src, k->af == 4 ? 4 : 16);
	memcpy(ip + (k->af == 4 ? 16 : 24), k->dst, k->af == 4 ? 4 : 16);
	switch (cls_proto_class(k->l4proto, k->af)) {
	case POL_PROTO_TCP:
		pkt_fr_tcp(f, k->sport, k->dport, 1, 0, 0x02, 0);
		break;
	case POL_PROTO_UDP:
		pkt_fr_udp(f, k->sport, k->dport, 4);
		break;
	case POL_PROTO_ICMP:
		pkt_fr_icmp(f, (uint8_t)(k->sport >> 8), (uint8_t)k->sport, 8);
		break;
	default:
		pkt_fr_data(f, 16);
	}
	pkt_fr_done(f);
}

/* ---- checks ------------------------------------------------------ */

#define CHECK(w, cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_msg("%s: %s\n%s", #cond, (w)->ctx, (w)->g.text);  \
	} while (0)

static void
same_verdict(struct world *w, const struct cls_verdict *a,
    const struct cls_verdict *b)
{
	CHECK(w, a->action == b->action);
	CHECK(w, a->reason == b->reason);
	CHECK(w, a->rule == b->rule);
	CHECK(w, a->service == b->service);
	CHECK(w, a->src_cc == b->src_cc);
	CHECK(w, a->src_cls == b->src_cls);
	CHECK(w, a->dst_cc == b->dst_cc);
	CHECK(w, a->log == b->log);
	CHECK(w, a->nexthop == b->nexthop);
}

/* Does the identity gate ask this packet for a session? The model. */
static int
model_gate(const struct gen *g, const struct pkt_case *c)
{
	unsigned pc = cls_proto_class(c->k.l4proto, c->k.af);

	if (!g->ident || (c->dir != POL_DIR_IN && !g->gate_any))
		return 0;
	if (pc == POL_PROTO_TCP && c->k.dport == 22)
		return 1;
	return g->ident_rdp && pc <= POL_PROTO_UDP && c->k.dport == 3389;
}

/* Is C's source in a list of the test's record: any, a country, a class? */
static int
model_in(uint8_t any, const uint8_t *set, uint8_t cls, const struct pkt_case *c)
{
	return any || set[c->sk] || (cls & model_cls(c->k.af, c->k.src));
}

/*
 * The set explain names for rule I against what the test knows of it:
 * the first of source, destination and direction that the rule refuses
 * must be the one named; an identity rule without a session never
 * matches.
 */
static void
model_miss(struct world *w, const struct pkt_case *c, unsigned i, unsigned miss,
    int session)
{
	const struct gen_rule *r = &w->g.rule[i];
	unsigned dk = w->p->needs_dst_geo ? c->dk : NCC;
	unsigned want = CLS_SET_MAX;

	/* A source is in src by its country or by one of its classes. */
	if (!model_in(r->src_any, r->src, r->src_cls, c))
		want = CLS_SET_SRC;
	else if (!r->dst_any && !r->dst[dk])
		want = CLS_SET_DST;
	else if ((r->dir == CONF_DIR_IN && c->dir != POL_DIR_IN) ||
	         (r->dir == CONF_DIR_OUT && c->dir != POL_DIR_OUT))
		want = CLS_SET_DIR;
	if (want != CLS_SET_MAX) {
		CHECK(w, miss == want);
		return;
	}
	CHECK(w, miss > CLS_SET_DIR);
	/* Untunnelled: origin and via judge the source itself. */
	if (!model_in(r->origin_any, r->origin, r->origin_cls, c))
		CHECK(w, miss <= CLS_SET_ORIGIN);
	else if (!model_in(r->via_any, r->via, r->via_cls, c))
		CHECK(w, miss <= CLS_SET_VIA && miss != CLS_SET_ORIGIN);
	else
		CHECK(w, miss != CLS_SET_ORIGIN && miss != CLS_SET_VIA);
	if (r->ident && !session)
		CHECK(w, miss != CLS_SET_MAX);
	if (!r->ident)
		CHECK(w, miss != CLS_SET_IDENT);
}

/* Explain's steps: they end at the deciding rule, as the verdict says. */
static void
check_steps(struct world *w, const struct pkt_case *c, const struct cls_why *y)
{
	const struct cls_verdict *v = &y->v;
	unsigned pc = cls_proto_class(c->k.l4proto, c->k.af);

	CHECK(w, y->gate == model_gate(&w->g, c) || v->reason == CDN_R_KNOCK);
	if (!y->walked) {
		CHECK(w, y->nmiss == 0);
		CHECK(w, v->reason == CDN_R_KNOCK ||
		             v->reason == CDN_R_NO_SESSION ||
		             v->reason == CDN_R_SESSION_EXPIRED);
		CHECK(w, v->rule == POL_RULE_DEFAULT);
		return;
	}
	CHECK(w, y->nmiss == (v->rule == POL_RULE_DEFAULT ? w->p->nrules
	                                                  : v->rule + 1u));
	for (unsigned i = 0; i < y->nmiss; i++) {
		CHECK(w, (y->miss[i] == CLS_SET_MAX) == (i == v->rule));
		CHECK(w, (cls_miss_text(y->miss[i], pc, y->ident_hit) ==
		             NULL) == (i == v->rule));
		model_miss(w, c, i, y->miss[i], y->ident_hit);
	}
}

static void
ctx_fill(struct world *w, uint64_t seed, unsigned n, const struct pkt_case *c,
    const char *what)
{
	snprintf(w->ctx, sizeof(w->ctx),
	    "seed %lu packet %u (%s): af %u "
	    "proto %u sport %u dport %u dir %u src %u dst %u",
	    (unsigned long)seed, n, what, c->k.af, c->k.l4proto, c->k.sport,
	    c->k.dport, c->dir, c->sk, c->dk);
}

/*
 * Without sessions: explain == classifier == replay.  Returns whether
 * the rules decided.
 */
static int
check_plain(struct world *w, const struct pkt_case *c)
{
	struct cls_env env = { w->p, w->geo, NULL, NOW };
	struct cls_verdict v, rv;
	struct pkt_meta m, rm;
	struct pkt_frame f;
	struct cls_why y;

	cls_key_meta(&c->k, &m);
	cls_explain(&env, &m, c->dir, &y);
	cls_classify(&env, &m, c->dir, &v);
	same_verdict(w, &y.v, &v);
	frame_build(&c->k, &f);
	CHECK(w, replay_packet(w->p, w->geo, NOW, c->dir, f.b, f.len, &rm,
	             &rv) == 0);
	same_verdict(w, &rv, &v);
	check_steps(w, c, &y);
	return y.walked;
}

/*
 * With a session for this source and service (random identity rule
 * bits; live, or expired on every other draw): explain == classifier.
 */
static void
check_session(struct world *w, const struct pkt_case *c)
{
	struct cls_env env = { w->p, w->geo, w->t, NOW };
	struct cls_verdict v;
	struct pol_set bits = w->p->noident;
	struct pkt_meta m;
	struct sess_key sk;
	struct cls_why y;
	int live = rnd(&w->g, 2);

	cls_key_meta(&c->k, &m);
	cls_classify(&env, &m, c->dir, &v);
	if (v.service == POL_SVC_NONE)
		return;
	for (unsigned i = 0; i < w->p->nrules; i++)
		if (rnd(&w->g, 2))
			pol_set_add(&bits, i);
	cls_sess_key(&m, v.service, &sk);
	assert_int_equal(sess_ident_set(w->t, 0, bits.w), 0);
	assert_int_equal(sess_put(w->t, &sk, live ? NOW + 60 : NOW - 1, 1, 0),
	    0);
	cls_explain(&env, &m, c->dir, &y);
	cls_classify(&env, &m, c->dir, &v);
	same_verdict(w, &y.v, &v);
	check_steps(w, c, &y);
	CHECK(w, !y.gate || live || v.reason == CDN_R_SESSION_EXPIRED);
	CHECK(w, y.ident_hit == (y.gate && live));
	for (unsigned i = 0; y.ident_hit && i < y.nmiss; i++)
		CHECK(w, (y.miss[i] == CLS_SET_IDENT) ==
		             (y.miss[i] >= CLS_SET_IDENT &&
		                 !((bits.w[i / 64] >> (i % 64)) & 1)));
	assert_int_equal(sess_del(w->t, &sk), 0);
}

static void
test_explain_is_the_classifier(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char err[128];
	unsigned cases = 0, walked = 0, gated = 0;

	(void)state;
	assert_non_null(w);
	w->geo = geo_make();
	assert_int_equal(sess_create(64, 1, POL_WORDS, &w->t, &w->tfd, err,
	                     sizeof(err)),
	    0);
	for (uint64_t seed = 1; seed <= POLICIES; seed++) {
		gen_policy(&w->g, seed);
		w->p = compile(&w->g);
		for (unsigned n = 0; n < PACKETS; n++, cases++) {
			struct pkt_case c;

			gen_packet(&w->g, &c);
			ctx_fill(w, seed, n, &c, "no session");
			walked += (unsigned)check_plain(w, &c);
			ctx_fill(w, seed, n, &c, "session");
			check_session(w, &c);
			gated += (unsigned)model_gate(&w->g, &c);
		}
		free(w->p);
	}
	/* The draws reach both the rule walk and the identity gate. */
	assert_true(cases >= 10000);
	assert_true(gated > cases / 50);
	assert_true(walked > cases / 2);
	print_message("%u cases, %u decided by the rules, %u at the "
	              "identity gate\n",
	    cases, walked, gated);
	sess_detach(w->t);
	close(w->tfd);
	geo_tables_free(w->geo);
	free(w);
}

/*
 * Protocol 1 under IPv6 (and 58 under IPv4) is "other" to the
 * classifier; explain's old walk over the config called it ICMP.  The
 * steps now come from the classifier's sets: an ICMP rule is turned down
 * on protocol, and a rule on "other" decides.
 */
static void
test_icmp_number_of_the_other_family(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct cls_key k = { .af = 6, .l4proto = 1 };
	struct pkt_meta m;
	struct cls_why y;

	(void)state;
	assert_non_null(w);
	put(&w->g,
	    "rules = ( { name = \"icmp\"; proto = \"icmp\";"
	    " action = \"drop\"; },\n"
	    "  { name = \"other\"; proto = \"other\"; action = \"reject\"; } );\n"
	    "default = { action = \"allow\"; };\n");
	w->g.nrules = 2;
	w->p = compile(&w->g);
	w->geo = geo_tables_create();
	k.src[0] = k.dst[0] = 0x20;
	cls_key_meta(&k, &m);
	cls_explain(&(struct cls_env){ w->p, w->geo, NULL, NOW }, &m,
	    POL_DIR_IN, &y);
	assert_int_equal(y.v.rule, 1);
	assert_int_equal(y.nmiss, 2);
	assert_int_equal(y.miss[0], CLS_SET_PROTO);
	assert_int_equal(y.miss[1], CLS_SET_MAX);
	assert_string_equal(cls_miss_text(y.miss[0], POL_PROTO_OTHER, 0),
	    "protocol not in proto");
	k.l4proto = 58;
	cls_key_meta(&k, &m);
	cls_explain(&(struct cls_env){ w->p, w->geo, NULL, NOW }, &m,
	    POL_DIR_IN, &y);
	assert_int_equal(y.v.rule, 0);
	geo_tables_free(w->geo);
	free(w->p);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_is_the_classifier),
		cmocka_unit_test(test_icmp_number_of_the_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
