/*
 * Policy compiler: compiles configs and evaluates the result the way the
 * classifier does (policy.h), over a matrix of country, protocol, port
 * and direction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_cls.h"

#define SHIPPED "config/cordon.conf"
#define ANYPORT 0 /* for ICMP and other protocols */

static struct policy *
policy_from_file(const char *path, const uint16_t *port_ids)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	char err[512] = "";

	assert_non_null(c);
	assert_non_null(p);
	if (conf_load(path, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (pol_compile(c, port_ids, p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	free(c);
	return p;
}

static struct policy *
policy_from_text(const char *text)
{
	char path[] = "/tmp/test_policy.XXXXXX";
	struct policy *p;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	p = policy_from_file(path, NULL);
	unlink(path);
	return p;
}

static int
cc(const char *s)
{
	return strcmp(s, "--") == 0 ? GEO_CC_UNKNOWN : geo_cc_parse(s);
}

/* The evaluation of policy.h: the rule that decides, or DEFAULT. */
static uint16_t
eval(const struct policy *p, const char *src, const char *dst, int proto,
    unsigned dport, int dir)
{
	const struct pol_set *ports = &p->portless;
	struct pol_set from, to;

	if (proto == POL_PROTO_TCP || proto == POL_PROTO_UDP)
		ports = &p->class_rules[p->port_class[proto][dport]];
	/* Untunnelled: the source is its own origin and only layer. */
	for (unsigned i = 0; i < POL_WORDS; i++)
		from.w[i] = p->src_cc[cc(src)].w[i] &
		            p->origin_cc[cc(src)].w[i] &
		            p->via_cc[cc(src)].w[i] & p->tun[POL_TUN_NONE].w[i];
	/* And the destination its only layer's (dst_via). */
	for (unsigned i = 0; i < POL_WORDS; i++)
		to.w[i] = p->dst_cc[cc(dst)].w[i] & p->dst_via_cc[cc(dst)].w[i];
	return pol_first(&p->noident, &from, &to, &p->dir[dir],
	    &p->proto[proto], ports, pol_nwords(p));
}

static int
verdict(const struct policy *p, const char *src, const char *dst, int proto,
    unsigned dport, int dir)
{
	uint16_t r = eval(p, src, dst, proto, dport, dir);

	return r == POL_RULE_DEFAULT ? p->default_action : p->rule[r].action;
}

#define T       POL_PROTO_TCP
#define U       POL_PROTO_UDP
#define I       POL_PROTO_ICMP
#define O       POL_PROTO_OTHER
#define IN      POL_DIR_IN
#define OUT     POL_DIR_OUT
#define ALLOW   CDN_ACT_ALLOW
#define DROP    CDN_ACT_DROP
#define REJECT  CDN_ACT_REJECT
#define REROUTE CDN_ACT_REROUTE

struct probe {
	const char *src, *dst;
	int proto;
	unsigned port;
	int dir;
	uint16_t rule; /* expected deciding rule */
	int action;
};

static void
probes_check(const struct policy *p, const struct probe *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t r = eval(p, v[i].src, v[i].dst, v[i].proto, v[i].port,
		    v[i].dir);
		int a = verdict(p, v[i].src, v[i].dst, v[i].proto, v[i].port,
		    v[i].dir);

		if (r != v[i].rule || a != v[i].action)
			fail_msg("probe %zu (%s->%s proto %d port %u dir %d): "
			         "rule %u action %s, want rule %u action %s",
			    i, v[i].src, v[i].dst, v[i].proto, v[i].port,
			    v[i].dir, r, cdn_action_name((unsigned)a),
			    v[i].rule, cdn_action_name((unsigned)v[i].action));
	}
}

#define DEF POL_RULE_DEFAULT

/*
 * The shipped policy: management, tunnels and VPNs from prohibited or
 * unknown sources are dropped, and so are those to such destinations
 * (issue 10, items 8 and 9), but for web consoles over TCP outbound.
 */
static void
test_shipped(void **state)
{
	static const struct probe v[] = {
		{ "CN", "US", T, 22, IN, 0, DROP },
		{ "--", "US", T, 22, IN, 0, DROP },
		{ "US", "US", T, 22, IN, DEF, ALLOW },
		{ "DE", "--", T, 22, IN, DEF, ALLOW },
		{ "CN", "US", T, 80, IN, DEF, ALLOW },
		{ "CN", "US", T, 22, OUT, DEF, ALLOW },
		{ "CN", "US", U, 22, IN, DEF, ALLOW },
		{ "CN", "US", T, 3389, IN, 0, DROP },
		{ "CN", "US", U, 3389, IN, 0, DROP },
		{ "HK", "US", T, 5985, IN, 0, DROP },
		{ "MO", "US", T, 5986, IN, 0, DROP },
		{ "CN", "US", T, 5987, IN, DEF, ALLOW },
		{ "CN", "US", T, 5984, IN, DEF, ALLOW },
		{ "RU", "US", U, 161, IN, 0, DROP },
		{ "RU", "US", T, 161, IN, DEF, ALLOW },
		{ "KP", "US", T, 8443, IN, 0, DROP },
		{ "IR", "US", T, 443, IN, 0, DROP },
		{ "VE", "US", T, 5901, IN, 0, DROP },
		{ "CU", "US", T, 830, IN, 0, DROP },
		{ "CU", "US", T, 6443, IN, 0, DROP },
		{ "TW", "US", T, 6443, IN, DEF, ALLOW },
		/* Item 8: the services the list missed. */
		{ "CN", "US", U, 443, IN, 0, DROP },
		{ "CN", "US", U, 8443, IN, 0, DROP },
		{ "RU", "US", U, 623, IN, 0, DROP },
		{ "CN", "US", T, 10250, IN, 0, DROP },
		{ "CN", "US", T, 2379, IN, 0, DROP },
		{ "CN", "US", T, 2380, IN, 0, DROP },
		{ "CN", "US", T, 2381, IN, DEF, ALLOW },
		{ "CN", "US", T, 2375, IN, 0, DROP },
		{ "CN", "US", T, 2376, IN, 0, DROP },
		{ "CN", "US", T, 445, IN, 0, DROP },
		{ "CN", "US", T, 2222, IN, 0, DROP },
		{ "--", "US", T, 23, IN, 0, DROP },
		{ "CN", "US", T, 1194, IN, 3, DROP },
		{ "CN", "US", U, 1194, IN, 3, DROP },
		{ "CN", "US", T, 4500, IN, 3, DROP },
		{ "CN", "US", U, 4500, IN, 3, DROP },
		{ "CN", "US", U, 500, IN, 3, DROP },
		{ "CN", "US", U, 1701, IN, 3, DROP },
		{ "CN", "US", U, 3544, IN, 3, DROP },
		{ "CN", "US", U, 4789, IN, 3, DROP },
		{ "CN", "US", U, 4790, IN, 3, DROP },
		{ "CN", "US", U, 6081, IN, 3, DROP },
		{ "CN", "US", U, 4754, IN, 3, DROP },
		{ "CN", "US", U, 6635, IN, 3, DROP },
		{ "CN", "US", U, 6080, IN, 3, DROP },
		{ "CN", "US", U, 2152, IN, 3, DROP },
		{ "RU", "US", U, 51820, IN, 3, DROP },
		{ "RU", "US", U, 51830, IN, 3, DROP },
		{ "RU", "US", U, 51831, IN, DEF, ALLOW },
		{ "DE", "US", U, 51820, IN, DEF, ALLOW },
		{ "CN", "US", I, ANYPORT, IN, DEF, ALLOW },
		{ "CN", "US", O, ANYPORT, IN, 2, DROP },
		{ "--", "US", O, ANYPORT, IN, 2, DROP },
		{ "US", "US", O, ANYPORT, IN, DEF, ALLOW },
		{ "CN", "US", O, ANYPORT, OUT, DEF, ALLOW },
		{ "CN", "US", T, 0, IN, DEF, ALLOW },
		{ "CN", "US", T, 65535, IN, DEF, ALLOW },
		/* Item 9: towards prohibited and unknown destinations. */
		{ "US", "CN", T, 22, OUT, 4, DROP },
		{ "US", "--", T, 22, OUT, 4, DROP },
		{ "--", "RU", T, 2222, OUT, 4, DROP },
		{ "US", "DE", T, 22, OUT, DEF, ALLOW },
		{ "US", "CN", T, 22, IN, DEF, ALLOW },
		{ "US", "CN", T, 443, OUT, DEF, ALLOW },
		{ "US", "CN", T, 8443, OUT, DEF, ALLOW },
		{ "US", "CN", U, 443, OUT, 4, DROP },
		{ "US", "IR", T, 445, OUT, 4, DROP },
		{ "US", "CN", O, ANYPORT, OUT, 5, DROP },
		{ "US", "--", O, ANYPORT, OUT, 5, DROP },
		{ "US", "DE", O, ANYPORT, OUT, DEF, ALLOW },
		{ "US", "CN", U, 3544, OUT, 6, DROP },
		{ "US", "KP", U, 51820, OUT, 6, DROP },
		{ "US", "CN", T, 1194, OUT, 6, DROP },
		{ "US", "CN", I, ANYPORT, OUT, DEF, ALLOW },
		{ "US", "CN", T, 80, OUT, DEF, ALLOW },
	};
	struct policy *p = policy_from_file(SHIPPED, NULL);

	probes_check(p, v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(p->nrules, 7);
	assert_true(p->rule[0].log);
	assert_string_equal(p->rule[0].name, "mgmt-from-prohibited");
	assert_string_equal(p->rule[1].name, "mgmt-via-prohibited");
	assert_string_equal(p->rule[4].name, "mgmt-to-prohibited");
	assert_int_equal(p->default_action, ALLOW);
	assert_int_equal(p->nonip_action, ALLOW);
	assert_int_equal(p->needs_dst_geo, 1);
	assert_int_equal(p->nservices, 28);
	assert_string_equal(p->service_name[p->port_service[0][22]], "ssh");
	assert_string_equal(p->service_name[p->port_service[1][3389]], "rdp");
	assert_string_equal(p->service_name[p->port_service[0][5986]], "winrm");
	assert_string_equal(p->service_name[p->port_service[1][443]],
	    "quic-admin");
	assert_int_equal(p->port_service[1][22], POL_SVC_NONE);
	assert_int_equal(p->port_service[0][80], POL_SVC_NONE);
	/*
	 * A port is in the management rules' class (both directions), the
	 * inbound-only web console class, the VPN rules' class, or none; a
	 * fragment of each protocol is held to the classes it uses.
	 */
	assert_int_equal(p->nclasses, 4);
	assert_int_equal(p->nfragcls[0], 4);
	assert_int_equal(p->nfragcls[1], 3);
	(void)state;
	free(p);
}

/*
 * Teredo both ways (issue 10, item 8): the shipped teredo service also
 * matches source port 3544, what a Teredo server or relay answers from,
 * to whatever port the client used.
 */
static void
test_shipped_sports(void **state)
{
	struct policy *p = policy_from_file(SHIPPED, NULL);
	struct cls_verdict v;

	(void)state;
	assert_int_equal(p->has_sports, 1);
	v = unit_cls_probe(p, 17, 3544, 40000, IN, 0);
	assert_int_equal(v.action, DROP);
	assert_string_equal(p->rule[v.rule].name, "vpn-from-prohibited");
	v = unit_cls_probe(p, 17, 3544, 40000, OUT, 0);
	assert_int_equal(v.action, DROP);
	assert_string_equal(p->rule[v.rule].name, "vpn-to-prohibited");
	v = unit_cls_probe(p, 17, 40000, 3544, IN, 0);
	assert_string_equal(p->rule[v.rule].name, "vpn-from-prohibited");
	v = unit_cls_probe(p, 17, 3545, 40000, IN, 0);
	assert_int_equal(v.action, ALLOW);
	v = unit_cls_probe(p, 6, 3544, 40000, IN, 0);
	assert_int_equal(v.action, ALLOW);
	free(p);
}

/*
 * sports in a small policy: a source port class is ORed with the
 * destination port's (the first rule of either wins).
 */
static void
test_sports(void **state)
{
	static const char text[] =
	    "services = { relay = { proto = \"udp\"; sports = \"3544\"; };\n"
	    "  dns = { proto = \"udp\"; ports = \"53\"; }; };\n"
	    "rules = ( { name = \"dns-ok\"; services = \"dns\";"
	    " action = \"allow\"; },\n"
	    "  { name = \"no-relay\"; src = \"unknown\"; services = \"relay\";"
	    " action = \"drop\"; } );\n"
	    "default = { action = \"allow\"; };\n";
	struct policy *p = policy_from_text(text);
	struct cls_verdict v;

	(void)state;
	assert_int_equal(p->has_sports, 1);
	v = unit_cls_probe(p, 17, 3544, 40000, IN, 0);
	assert_int_equal(v.action, DROP);
	assert_int_equal(v.rule, 1);
	v = unit_cls_probe(p, 17, 3544, 53, IN, 0);
	assert_int_equal(v.action, ALLOW);
	assert_int_equal(v.rule, 0);
	v = unit_cls_probe(p, 17, 40000, 3544, IN, 0);
	assert_int_equal(v.rule, DEF);
	v = unit_cls_probe(p, 6, 3544, 40000, IN, 0);
	assert_int_equal(v.rule, DEF);
	/* A later fragment is the fragment table's (core/frag) to judge:
	 * the classifier alone refuses it. */
	v = unit_cls_probe(p, 17, 0, 0, IN, 1);
	assert_int_equal(v.action, DROP);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	v = unit_cls_probe(p, 6, 0, 0, IN, 1);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	free(p);
}

static const char order_conf[] =
    "services: { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"
    "  web = { proto = \"tcp\"; ports = [ \"80\", \"443\" ]; };\n"
    "  dns = { proto = [ \"udp\", \"tcp\" ]; ports = 53; };\n"
    "  ssh-alt = { proto = \"tcp\"; ports = \"22\"; }; };\n"
    "regions: { bad = [ \"CN\", \"RU\" ]; };\n"
    "dataplane: { ports = (\n"
    "  { name = \"o\"; device = \"d0\"; role = \"outside\"; peer = \"i\"; "
    "},\n"
    "  { name = \"i\"; device = \"d1\"; role = \"inside\"; peer = \"o\"; "
    "},\n"
    "  { name = \"x\"; device = \"d2\"; role = \"other\"; } );\n"
    "  next_hops = ( { name = \"scrub\"; port = \"x\";\n"
    "    mac = \"02:00:00:00:00:99\"; vlan = 100; } ); };\n"
    "rules = (\n"
    /* 0 */ "{ name = \"us-ssh\"; src = \"US\"; services = \"ssh\";\n"
    "  action = \"allow\"; },\n"
    /* 1 */ "{ name = \"ssh\"; services = \"ssh\"; action = \"drop\";\n"
    "  log = true; },\n"
    /* 2 */ "{ name = \"ping-bad\"; src = \"bad\"; proto = \"icmp\";\n"
    "  action = \"reject\"; direction = \"in\"; },\n"
    /* 3 */ "{ name = \"web-de\"; dst = \"DE\"; services = \"web\";\n"
    "  action = \"reroute\"; nexthop = \"scrub\"; },\n"
    /* 4 */ "{ name = \"dns-out\"; services = \"dns\"; proto = \"udp\";\n"
    "  direction = \"out\"; action = \"drop\"; },\n"
    /* 5 */ "{ name = \"hi-ports\"; src = [ \"bad\", \"unknown\" ];\n"
    "  ports = ( \"1024-2047\", 8080 ); action = \"reject\"; },\n"
    /* 6 */ "{ name = \"rest-bad\"; src = \"bad\"; action = \"drop\"; }\n"
    ");\n"
    "default = { action = \"allow\"; log = true; };\n"
    "non_ip = \"drop\";\n";

/* First match wins; every matcher narrows; the default catches the rest. */
static void
test_order(void **state)
{
	static const struct probe v[] = {
		{ "US", "FR", T, 22, IN, 0, ALLOW },
		{ "US", "FR", T, 22, OUT, 0, ALLOW },
		{ "FR", "US", T, 22, IN, 1, DROP },
		{ "CN", "US", T, 22, IN, 1, DROP },
		{ "FR", "US", U, 22, IN, DEF, ALLOW },
		{ "CN", "US", I, ANYPORT, IN, 2, REJECT },
		{ "CN", "US", I, ANYPORT, OUT, 6, DROP },
		{ "FR", "US", I, ANYPORT, IN, DEF, ALLOW },
		{ "FR", "DE", T, 443, IN, 3, REROUTE },
		{ "FR", "DE", T, 80, OUT, 3, REROUTE },
		{ "FR", "DE", U, 443, IN, DEF, ALLOW },
		{ "FR", "FR", T, 443, IN, DEF, ALLOW },
		{ "FR", "FR", U, 53, OUT, 4, DROP },
		{ "FR", "FR", U, 53, IN, DEF, ALLOW },
		{ "FR", "FR", T, 53, OUT, DEF, ALLOW },
		{ "--", "FR", T, 1024, IN, 5, REJECT },
		{ "--", "FR", U, 2047, IN, 5, REJECT },
		{ "--", "FR", U, 2048, IN, DEF, ALLOW },
		{ "RU", "FR", T, 8080, IN, 5, REJECT },
		{ "RU", "FR", T, 8081, IN, 6, DROP },
		{ "RU", "FR", O, ANYPORT, IN, 6, DROP },
		{ "--", "FR", O, ANYPORT, IN, DEF, ALLOW },
		{ "--", "FR", I, ANYPORT, IN, DEF, ALLOW },
	};
	static const uint16_t port_ids[] = { 7, 8, 9 };
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = policy_from_text(order_conf);
	char err[256];

	(void)state;
	probes_check(p, v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(p->nrules, 7);
	assert_int_equal(p->needs_dst_geo, 1);
	assert_int_equal(p->default_log, 1);
	assert_int_equal(p->nonip_action, DROP);
	assert_int_equal(p->rule[3].nexthop, 0);
	assert_int_equal(p->nnexthops, 1);
	assert_int_equal(p->nexthop[0].port, 2);
	assert_int_equal(p->nexthop[0].vlan, 100);
	assert_memory_equal(p->nexthop[0].mac, "\x02\x00\x00\x00\x00\x99", 6);
	assert_string_equal(p->nexthop[0].name, "scrub");
	assert_true(p->rule[1].log);
	assert_false(p->rule[0].log);
	assert_true(p->rule[0].line > 0);
	/* Only rules without services or ports see ICMP and fragments. */
	assert_int_equal(p->portless.w[0], (1u << 2) | (1u << 6));
	/* The first service naming a port reports it. */
	assert_string_equal(p->service_name[p->port_service[0][22]], "ssh");
	assert_string_equal(p->service_name[p->port_service[1][53]], "dns");
	free(p);

	/* Next hops name DPDK ports through the caller's map. */
	{
		char path[] = "/tmp/test_policy.XXXXXX";
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, order_conf, sizeof(order_conf) - 1),
		    (ssize_t)sizeof(order_conf) - 1);
		close(fd);
		p = policy_from_file(path, port_ids);
		assert_int_equal(p->nexthop[0].port, 9);
		assert_int_equal(conf_load(path, c, err, sizeof(err)), 0);
		unlink(path);
		free(p);
	}
	free(c);
}

static void
test_empty(void **state)
{
	struct policy *p = policy_from_text("default = { action = \"drop\"; "
	                                    "};\n");

	(void)state;
	assert_int_equal(p->nrules, 0);
	assert_int_equal(p->nclasses, 1);
	assert_int_equal(eval(p, "US", "US", T, 22, IN), DEF);
	assert_int_equal(verdict(p, "CN", "--", I, 0, OUT), DROP);
	assert_int_equal(p->nonip_action, ALLOW);
	free(p);
}

/* One distinct port per rule, 256 rules: 257 classes with the empty one. */
static void
test_too_many_classes(void **state)
{
	char path[] = "/tmp/test_policy.XXXXXX";
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	char err[256], want[256];
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f, "rules = (\n");
	for (int i = 0; i < CONF_RULE_MAX; i++)
		fprintf(f,
		    "{ name = \"r%d\"; ports = %d; "
		    "action = \"drop\"; }%s\n",
		    i, 1000 + i, i + 1 < CONF_RULE_MAX ? "," : "");
	fprintf(f, ");\n");
	fclose(f);
	assert_int_equal(conf_load(path, c, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	    "%s:0: more than 256 distinct port "
	    "classes: merge services or ports",
	    path);
	assert_string_equal(err, want);

	/* 255 of them fit, and the last rule still decides its port. */
	c->nrules = 255;
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	assert_int_equal(p->nclasses, 256);
	assert_int_equal(eval(p, "US", "US", U, 1254, IN), 254);
	assert_int_equal(eval(p, "US", "US", U, 1255, IN), DEF);
	free(p);
	free(c);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The budget is 50 ms for the shipped config; leave room for sanitizers. */
static void
test_speed(void **state)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct timespec t0;
	char err[256];
	double ms;

	(void)state;
	assert_int_equal(conf_load(SHIPPED, c, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	ms = ms_since(&t0);
	print_message("# pol_compile shipped: %.3f ms\n", ms);
	assert_true(ms < 50.0);

	/* Worst shape: every rule names every service, all 16 ranges each. */
	c->nservices = CONF_SERVICE_MAX;
	for (unsigned s = 0; s < CONF_SERVICE_MAX; s++) {
		snprintf(c->services[s].name, CONF_NAME_MAX, "s%u", s);
		c->services[s].protos = CONF_P_TCP | CONF_P_UDP;
		c->services[s].nranges = CONF_RANGE_MAX;
		for (unsigned k = 0; k < CONF_RANGE_MAX; k++)
			c->services[s].range[k] = (struct conf_range){
				(uint16_t)(s * 1000 + k * 50 + 1),
				(uint16_t)(s * 1000 + k * 50 + 10)
			};
	}
	c->nrules = CONF_RULE_MAX;
	for (unsigned i = 0; i < CONF_RULE_MAX; i++)
		c->rules[i] = (struct conf_rule){ .services = ~0ULL,
			.protos = CONF_P_TCP | CONF_P_UDP,
			.src_any = true,
			.dst_any = true,
			.nexthop = -1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	print_message("# pol_compile 256 rules x 64 services: %.3f ms\n",
	    ms_since(&t0));
	assert_int_equal(p->nclasses, 2);
	free(p);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_shipped_sports),
		cmocka_unit_test(test_sports),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_too_many_classes),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
