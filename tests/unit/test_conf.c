/*
 * Config loader: the shipped config loads with the values it says, its
 * canonical print matches the golden file, and each bad config fails
 * with exactly the "file:line: message" an admin would see, leaving the
 * previous config untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/load/conf.h"
#include "core/stats/reasons.h"

#define SHIPPED "config/cordon.conf"
#define GOLDEN  "tests/fixtures/conf/cordon.print"

static char tmpdir[64];

static void
file_write(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (strchr(name, '/') != NULL) {
		char dir[256];

		snprintf(dir, sizeof(dir), "%s/%.*s", tmpdir,
		    (int)(strrchr(name, '/') - name), name);
		mkdir(dir, 0700);
	}
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
tmpdir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_conf.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
tmpdir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct conf *
conf_new(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	return c;
}

static void
test_shipped(void **state)
{
	struct conf *c = conf_new();
	const struct conf_rule *r;
	char err[512] = "";
	int i;

	(void)state;
	assert_int_equal(conf_load(SHIPPED, c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c->ngeo, 1);
	assert_string_equal(c->geo_path[0],
	    "/var/lib/cordon/geo/geo-whois-asn-country.mmdb");
	assert_string_equal(c->geo_field[0], "country_code");
	assert_int_equal(c->noverrides, 0);

	assert_int_equal(c->nregions, 1);
	assert_int_equal(i = conf_region_find(c, "prohibited"), 0);
	assert_true(conf_ccset_has(&c->regions[i].cc, geo_cc_parse("CN")));
	assert_true(conf_ccset_has(&c->regions[i].cc, geo_cc_parse("VE")));
	assert_false(conf_ccset_has(&c->regions[i].cc, geo_cc_parse("US")));
	assert_false(conf_ccset_has(&c->regions[i].cc, GEO_CC_UNKNOWN));

	assert_int_equal(c->nservices, 28);
	i = conf_service_find(c, "winrm");
	assert_true(i >= 0);
	assert_int_equal(c->services[i].protos, CONF_P_TCP);
	assert_int_equal(c->services[i].nranges, 1);
	assert_int_equal(c->services[i].range[0].lo, 5985);
	assert_int_equal(c->services[i].range[0].hi, 5986);
	i = conf_service_find(c, "rdp");
	assert_int_equal(c->services[i].protos, CONF_P_TCP | CONF_P_UDP);
	i = conf_service_find(c, "https-admin");
	assert_int_equal(c->services[i].nranges, 2);
	assert_int_equal(c->services[i].range[1].lo, 8443);
	assert_int_equal(conf_service_find(c, "http"), -1);
	i = conf_service_find(c, "quic-admin");
	assert_int_equal(c->services[i].protos, CONF_P_UDP);
	/* The services come from their own profile. */
	assert_true(c->services[i].line > 0);

	assert_int_equal(c->nrules, 7);
	/* Tunnels: every layer's source (docs/packet-parsing.md). */
	assert_string_equal(c->rules[1].name, "mgmt-via-prohibited");
	assert_true(c->rules[1].has_via);
	assert_false(c->rules[1].has_origin);
	assert_true(conf_ccset_has(&c->rules[1].via, GEO_CC_UNKNOWN));
	assert_true(conf_ccset_has(&c->rules[1].via, geo_cc_parse("CN")));
	assert_true(c->rules[1].src_any);
	assert_int_equal(c->rules[1].tun, CONF_TUN_ALL);
	assert_int_equal(c->tunnels.depth, 3);
	assert_int_equal(c->tunnels.vxlan, 4789);
	assert_string_equal(c->rules[2].name, "tunnels-from-prohibited");
	assert_int_equal(c->rules[2].protos, CONF_P_OTHER);
	assert_string_equal(c->rules[3].name, "vpn-from-prohibited");
	r = &c->rules[0];
	assert_string_equal(r->name, "mgmt-from-prohibited");
	assert_false(r->src_any);
	assert_true(conf_ccset_has(&r->src, GEO_CC_UNKNOWN));
	assert_true(conf_ccset_has(&r->src, geo_cc_parse("KP")));
	assert_false(conf_ccset_has(&r->src, geo_cc_parse("US")));
	assert_true(r->dst_any);
	assert_false(r->svc_any);
	assert_int_equal(r->services, (1ULL << 16) - 1);
	assert_int_equal(r->protos, CONF_P_TCP | CONF_P_UDP);
	assert_int_equal(r->dir, CONF_DIR_IN);
	assert_int_equal(r->action, CDN_ACT_DROP);
	assert_int_equal(r->nexthop, -1);
	assert_true(r->log);
	assert_int_equal(r->nsrc_ref, 3);
	/* The rules live in an included file; print and explain name it. */
	assert_string_equal(c->files[r->file], "config/policy.conf");
	assert_true(r->line > 0);
	assert_int_equal(r->src_ref[0].kind, CONF_REF_REGION);
	assert_int_equal(r->src_ref[1].kind, CONF_REF_CC);
	/* Special-purpose sources are denied like unknown ones (item 3). */
	assert_int_equal(r->src_ref[2].kind, CONF_REF_SPECIAL);
	assert_true(conf_ccset_has(&r->src, GEO_SP_PRIVATE));
	assert_true(conf_ccset_has(&r->src, GEO_SP_DOCUMENTATION));
	/* Item 9: the same services towards those places. */
	r = &c->rules[4];
	assert_string_equal(r->name, "mgmt-to-prohibited");
	assert_true(r->src_any);
	/* Any layer's destination: a tunnel to an allowed relay carrying
	 * a packet to a prohibited place is denied as the packet is. */
	assert_true(r->dst_any);
	assert_true(r->has_dst_via);
	assert_true(conf_ccset_has(&r->dst_via, GEO_CC_UNKNOWN));
	assert_true(conf_ccset_has(&r->dst_via, geo_cc_parse("CN")));
	assert_int_equal(r->dir, CONF_DIR_OUT);
	assert_int_equal(r->action, CDN_ACT_DROP);

	assert_int_equal(c->default_action, CDN_ACT_ALLOW);
	assert_false(c->log_default);
	assert_int_equal(c->nonip_action, CDN_ACT_ALLOW);
	assert_int_equal(c->srcroute_action, CDN_ACT_DROP);
	assert_int_equal(c->nports, 2);
	assert_string_equal(c->ports[0].device, "0000:01:00.0");
	assert_int_equal(c->ports[0].role, CONF_ROLE_OUTSIDE);
	assert_int_equal(c->ports[0].peer, 1);
	assert_int_equal(c->ports[1].peer, 0);
	assert_int_equal(c->nnexthops, 0);
	assert_int_equal(c->neal, 2);
	assert_string_equal(c->eal[1], "0-1");
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->mbufs, 16384);
	free(c);
}

static char *
file_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/* CORDON_GOLDEN_UPDATE=1 rewrites the golden file instead. */
static void
test_print_golden(void **state)
{
	struct conf *c = conf_new();
	char err[512], *out = NULL, *want;
	size_t outlen = 0, wantlen = 0;
	FILE *f;

	(void)state;
	assert_int_equal(conf_load(SHIPPED, c, err, sizeof(err)), 0);
	assert_non_null(f = open_memstream(&out, &outlen));
	conf_print(c, f);
	fclose(f);
	if (getenv("CORDON_GOLDEN_UPDATE") != NULL) {
		assert_non_null(f = fopen(GOLDEN, "w"));
		fwrite(out, 1, outlen, f);
		fclose(f);
	}
	want = file_slurp(GOLDEN, &wantlen);
	assert_non_null(want);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(c);
}

/* A small valid config the bad ones are variations of. */
#define BASE_SVC                                                               \
	"services: { ssh = { proto = \"tcp\"; ports = [ \"22\" ]; }; };\n"

struct bad_case {
	const char *main;     /* main.conf */
	const char *inc_name; /* optional second file */
	const char *inc;
	const char *want; /* error, file paths relative to tmpdir */
};

static const struct bad_case bad_cases[] = {
	/* proxies (docs/proxies.md) */
	{ "services: { s = { proto = \"tcp\"; ports = [ 22 ];\n"
	  "  proxy = \"v3\"; }; };\n",
	    NULL, NULL,
	    "main.conf:2: service \"s\": proxy must be v1, v2, any, "
	    "forwarded or x-forwarded-for" },
	{ "services: { s = { proto = [ \"tcp\", \"udp\" ]; ports = [ 22 ];"
	  " proxy = \"v2\"; }; };\n",
	    NULL, NULL,
	    "main.conf:1: service \"s\": proxy needs proto \"tcp\" and "
	    "ports, without sports" },
	{ "services: { s = { proto = \"tcp\"; ports = [ 22 ];"
	  " proxy = \"v2\"; }; };\n",
	    NULL, NULL,
	    "main.conf:1: service \"s\": proxy \"v2\" but proxies.trusted "
	    "names no relay" },
	{ "proxies = { trusted = [ \"10.0.0.0/8\" ]; };\n"
	  "services: { s = { proto = \"tcp\"; ports = [ 22 ];"
	  " proxy = \"v2\"; };\n t = { proto = \"tcp\"; ports = "
	  "[ \"20-30\" ]; }; };\n",
	    NULL, NULL,
	    "main.conf:2: services \"s\" and \"t\" share a port but not "
	    "their proxy" },
	{ "proxies = {\n trusted = [ \"10.0.0.1/8\" ]; };\n", NULL, NULL,
	    "main.conf:2: proxies.trusted: \"10.0.0.1/8\" has bits set past "
	    "its length" },
	{ "proxies = { trusted = [ \"10.0.0.0/8\", \"::/0\" ]; };\n", NULL,
	    NULL,
	    "main.conf:1: proxies.trusted: \"::/0\" trusts every sender" },
	{ "proxies = { trusted = \"lb\"; };\n", NULL, NULL,
	    "main.conf:1: proxies.trusted: \"lb\" is not an address or "
	    "prefix" },
	{ "proxies = { incomplete = \"allow\"; };\n", NULL, NULL,
	    "main.conf:1: proxies.incomplete must be \"unknown\" or "
	    "\"drop\"" },
	{ "proxies = { window = 64; };\n", NULL, NULL,
	    "main.conf:1: \"window\" must be between 128 and 16384" },
	/* tunnels (docs/config.md, Tunnels) */
	{ "rules = ( { name = \"t\"; tunnel = \"gre\"; action = \"drop\"; "
	  "} );\n",
	    NULL, NULL,
	    "main.conf:1: rule \"t\": tunnel must be none, inspected, opaque "
	    "or any, not \"gre\"" },
	{ "rules = ( { name = \"t\"; via = [ ]; action = \"drop\"; } );\n",
	    NULL, NULL, "main.conf:1: rule \"t\": empty via list" },
	{ "rules = ( { name = \"t\"; dst_via = [ ]; action = \"drop\"; } );\n",
	    NULL, NULL, "main.conf:1: rule \"t\": empty dst_via list" },
	{ "rules = ( { name = \"t\"; dst_via = \"XY\"; action = \"drop\"; "
	  "} );\n",
	    NULL, NULL,
	    "main.conf:1: rule \"t\": \"XY\" is not an "
	    "ISO 3166-1 country code" },
	{ "rules = ( { name = \"t\"; dst_via = [ \"nowhere\" ]; "
	  "action = \"drop\"; } );\n",
	    NULL, NULL,
	    "main.conf:1: rule \"t\": unknown region or country "
	    "\"nowhere\"" },
	{ "rules = ( { name = \"t\"; origin = \"XY\"; action = \"drop\"; "
	  "} );\n",
	    NULL, NULL,
	    "main.conf:1: rule \"t\": \"XY\" is not an "
	    "ISO 3166-1 country code" },
	{ "tunnels = { depth = 8; };\n", NULL, NULL,
	    "main.conf:1: \"depth\" must be between 1 and 7" },
	{ "tunnels = { opaque_udp = [ \"500-501\" ]; };\n", NULL, NULL,
	    "main.conf:1: opaque_udp: single ports, not ranges" },
	{ "tunnels = { vxlan = 1; };\n", NULL, NULL,
	    "main.conf:1: unknown key \"vxlan\" (expected one of: depth, "
	    "vxlan_port, geneve_port, teredo_port, dtls_port, opaque_udp)" },
	/* evidence (docs/config.md, Evidence) */
	{ "rules = ( { name = \"e\";\n action = \"allow\";\n"
	  " evidence = true; } );\n",
	    NULL, NULL,
	    "main.conf:3: rule \"e\": evidence is kept of denied or "
	    "rerouted flows, not of action allow" },
	{ "evidence = {\n snaplen = 4096; };\n", NULL, NULL,
	    "main.conf:2: \"snaplen\" must be between 64 and 2048" },
	{ "evidence = { packets = 0; };\n", NULL, NULL,
	    "main.conf:1: \"packets\" must be between 1 and 64" },
	{ "evidence = { dir = \"ev\"; };\n", NULL, NULL,
	    "main.conf:1: evidence.dir must be an absolute path" },
	{ "evidence = { size = 1; };\n", NULL, NULL,
	    "main.conf:1: unknown key \"size\" (expected one of: packets, "
	    "snaplen, flows, flow_idle, file_size, files, rotate_age, "
	    "max_age, dir)" },
	/* show top's window (dataplane.top_window) */
	{ "dataplane = {\n top_window = 4; };\n", NULL, NULL,
	    "main.conf:2: \"top_window\" must be between 5 and 86400" },
	/* syntax */
	{ "rules = (\n  { name = \"a\"; action = ; }\n);\n", NULL, NULL,
	    "main.conf:2: syntax error" },
	/* unknown top-level key */
	{ BASE_SVC "servces: { };\n", NULL, NULL,
	    "main.conf:2: unknown key \"servces\" (expected one of: geo, "
	    "regions, services, rules, default, non_ip, dataplane, identity, control, backend, source_route, tunnels, proxies, evidence)" },
	/* unknown key inside a rule */
	{ BASE_SVC "rules = (\n{ name = \"a\";\n  acton = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:4: unknown key \"acton\" (expected one of: name, src, "
	    "dst, services, proto, ports, direction, action, nexthop, log, identity, origin, via, tunnel, evidence, dst_via)" },
	/* unknown key inside a service */
	{ "services: { ssh = { proto = \"tcp\"; port = [ \"22\" ]; }; };\n",
	    NULL, NULL,
	    "main.conf:1: unknown key \"port\" (expected one of: proto, ports, sports, proxy)" },
	/* unknown region */
	{ BASE_SVC "rules = (\n{ name = \"a\";\n  src = [ \"prohibitted\" ];\n"
	           "  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:4: rule \"a\": unknown region or country "
	    "\"prohibitted\"" },
/* relay classes (geo.classes) */
#define CLS_GEO                                                                \
	"geo: { classes = (\n  { name = \"tor\"; prefixes = \"tor.txt\"; }\n); };\n"
	{ CLS_GEO BASE_SVC
	    "rules = (\n{ name = \"a\";\n"
	    "  src = [ \"class:tr\" ];\n  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:7: rule \"a\": unknown class \"tr\" "
	    "(geo.classes)" },
	{ CLS_GEO BASE_SVC
	    "rules = (\n{ name = \"a\";\n"
	    "  dst = [ \"class:tor\" ];\n  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:7: rule \"a\": \"class:tor\": classes match "
	    "sources only (src, origin, via)" },
	{ CLS_GEO BASE_SVC
	    "rules = (\n{ name = \"a\";\n"
	    "  dst_via = [ \"CN\", \"class:tor\" ];\n  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:7: rule \"a\": \"class:tor\": classes match "
	    "sources only (src, origin, via)" },
	{ CLS_GEO BASE_SVC
	    "rules = (\n{ name = \"a\";\n"
	    "  via = [ \"class:to\" ];\n  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:7: rule \"a\": unknown class \"to\" "
	    "(geo.classes)" },
	{ "geo: { classes = (\n  { name = \"tor\"; }\n); };\n", NULL, NULL,
	    "main.conf:2: class \"tor\": give prefixes, asns or asn" },
	{ "geo: { classes = (\n  { name = \"t\"; prefixes = \"a\"; },\n"
	  "  { name = \"t\"; prefixes = \"b\"; }\n); };\n",
	    NULL, NULL, "main.conf:3: duplicate class \"t\"" },
	{ "geo: { classes = (\n  { name = \"vpn\";\n    asn = [ 64500, "
	  "0 ]; }\n); };\n",
	    NULL, NULL,
	    "main.conf:3: class \"vpn\": AS number 0 out of range" },
	{ "geo: { classes = (\n  { name = \"vpn\"; asn = [ 64500 ]; }\n"
	  "); };\n",
	    NULL, NULL,
	    "main.conf:2: class \"vpn\" names AS "
	    "numbers: geo.asn_database is required" },
	{ "geo: { classes = (\n  { name = \"v\"; prefixes = \"a\";\n"
	  "    asns = 5; }\n); };\n",
	    NULL, NULL, "main.conf:3: \"asns\" must be a string" },
	/* bad port range */
	{ "services: {\n  x11 = { proto = \"tcp\";\n"
	  "          ports = [ \"6010\", \"6063-6000\" ]; };\n};\n",
	    NULL, NULL,
	    "main.conf:3: bad port range \"6063-6000\" (low > high)" },
	/* port out of range, as an integer */
	{ "services: { x = { proto = \"udp\"; ports = [ 70000 ]; }; };\n", NULL,
	    NULL, "main.conf:1: port 70000 out of range (1-65535)" },
	/* port garbage */
	{ "services: { x = { proto = \"udp\"; ports = [ \"22a\" ]; }; };\n",
	    NULL, NULL, "main.conf:1: bad port \"22a\"" },
	/* service protocol */
	{ "services: { x = { proto = \"icmp\"; ports = [ \"1\" ]; }; };\n",
	    NULL, NULL,
	    "main.conf:1: protocol \"icmp\" not allowed here (only tcp or udp)" },
	/* duplicate service: libconfig refuses it while parsing */
	{ "services: {\n  ssh = { proto = \"tcp\"; ports = [ \"22\" ]; };\n"
	  "  ssh = { proto = \"tcp\"; ports = [ \"2222\" ]; };\n};\n",
	    NULL, NULL, "main.conf:3: duplicate setting name" },
	/* duplicate rule */
	{ "rules = (\n{ name = \"a\"; action = \"drop\"; },\n"
	  "{ name = \"a\"; action = \"allow\"; }\n);\n",
	    NULL, NULL, "main.conf:3: duplicate rule \"a\"" },
	/* reroute without a nexthop */
	{ "rules = (\n{ name = \"a\";\n  action = \"reroute\"; }\n);\n", NULL,
	    NULL, "main.conf:2: rule \"a\": reroute needs a nexthop" },
	/* nexthop on drop */
	{ "dataplane: { ports = ( { name = \"o\"; device = \"d\"; "
	  "role = \"outside\"; } );\n next_hops = ( { name = \"nh\"; "
	  "port = \"o\"; mac = \"02:00:00:00:00:01\"; } ); };\n"
	  "rules = (\n{ name = \"a\"; action = \"drop\";\n"
	  "  nexthop = \"nh\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:5: rule \"a\": nexthop is only valid with action "
	    "reroute" },
	/* unknown nexthop */
	{ "rules = (\n{ name = \"a\"; action = \"reroute\";\n"
	  "  nexthop = \"nh\"; }\n);\n",
	    NULL, NULL, "main.conf:3: rule \"a\": unknown next hop \"nh\"" },
	/* bad action */
	{ "rules = (\n{ name = \"a\"; action = \"deny\"; }\n);\n", NULL, NULL,
	    "main.conf:2: rule \"a\": action must be allow, drop, reject or "
	    "reroute, not \"deny\"" },
	/* missing action */
	{ "rules = (\n{ name = \"a\"; log = true; }\n);\n", NULL, NULL,
	    "main.conf:2: missing \"action\"" },
	/* log must be a boolean */
	{ "rules = (\n{ name = \"a\"; action = \"drop\"; log = \"yes\"; "
	  "}\n);\n",
	    NULL, NULL, "main.conf:2: \"log\" must be true or false" },
	/* empty src */
	{ "rules = (\n{ name = \"a\"; action = \"drop\";\n  src = [ ]; }\n);\n",
	    NULL, NULL, "main.conf:3: rule \"a\": empty src list" },
	/* unknown service */
	{ BASE_SVC "rules = (\n{ name = \"a\"; action = \"drop\";\n"
	           "  services = [ \"ssh\", \"sssh\" ]; }\n);\n",
	    NULL, NULL, "main.conf:4: rule \"a\": unknown service \"sssh\"" },
	/* services and icmp */
	{ BASE_SVC "rules = (\n{ name = \"a\"; action = \"drop\";\n"
	           "  services = \"ssh\"; proto = \"icmp\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:4: rule \"a\": services and ports only match tcp and "
	    "udp" },
	/* service of the wrong protocol */
	{ BASE_SVC "rules = (\n{ name = \"a\"; action = \"drop\";\n"
	           "  services = \"ssh\"; proto = \"udp\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:4: rule \"a\": service \"ssh\" has no protocol in "
	    "common with proto" },
	/* bad direction */
	{ "rules = (\n{ name = \"a\"; action = \"drop\";\n"
	  "  direction = \"inbound\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:3: rule \"a\": direction must be in, out or any, not "
	    "\"inbound\"" },
	/* bad CIDR */
	{ "geo: { overrides = (\n"
	  "  { prefix = \"203.0.113.0/33\"; country = \"CN\"; }\n); };\n",
	    NULL, NULL, "main.conf:2: bad prefix \"203.0.113.0/33\"" },
	{ "geo: { overrides = (\n"
	  "  { prefix = \"203.0.113.1/24\"; country = \"CN\"; }\n); };\n",
	    NULL, NULL,
	    "main.conf:2: prefix \"203.0.113.1/24\" has host bits "
	    "set" },
	{ "geo: { overrides = (\n"
	  "  { prefix = \"2001:db8::1/32\"; country = \"CN\"; }\n); };\n",
	    NULL, NULL,
	    "main.conf:2: prefix \"2001:db8::1/32\" has host bits "
	    "set" },
	{ "geo: { overrides = (\n"
	  "  { prefix = \"203.0.113.0/24\"; country = \"CHN\"; }\n); };\n",
	    NULL, NULL,
	    "main.conf:2: bad country \"CHN\" (an ISO 3166-1 code, "
	    "a special-purpose region, or \"unknown\")" },
	/* Issue 10 item 1: placeholders and withdrawn codes are no country. */
	{ "geo: { overrides = (\n"
	  "  { prefix = \"203.0.113.0/24\"; country = \"XX\"; }\n); };\n",
	    NULL, NULL,
	    "main.conf:2: \"XX\" is not an ISO 3166-1 country code" },
	{ "regions:\n{\n  prohibited = [ \"CN\",\n \"UK\" ];\n};\n", NULL, NULL,
	    "main.conf:4: region \"prohibited\": \"UK\" is not an ISO "
	    "3166-1 country code" },
	{ BASE_SVC "rules = (\n{ name = \"a\";\n  src = [ \"EU\" ];\n"
	           "  action = \"drop\"; }\n);\n",
	    NULL, NULL,
	    "main.conf:4: rule \"a\": \"EU\" is not an ISO 3166-1 country "
	    "code" },
	{ "geo: { databases = (\n  { file = \"a.mmdb\"; fields = \"x\"; }\n"
	  "); };\n",
	    NULL, NULL,
	    "main.conf:2: unknown key \"fields\" (expected one of: file, "
	    "field)" },
	/* bad MAC */
	{ "dataplane: { ports = ( { name = \"o\"; device = \"d\"; "
	  "role = \"outside\"; } );\n next_hops = (\n  { name = \"nh\"; "
	  "port = \"o\"; mac = \"02:00:00:00:00\"; } ); };\n",
	    NULL, NULL, "main.conf:3: bad MAC address \"02:00:00:00:00\"" },
	{ "dataplane: { ports = ( { name = \"o\"; device = \"d\"; "
	  "role = \"outside\"; } );\n next_hops = (\n  { name = \"nh\"; "
	  "port = \"o\"; mac = \"ff:ff:ff:ff:ff:ff\"; } ); };\n",
	    NULL, NULL,
	    "main.conf:3: MAC address \"ff:ff:ff:ff:ff:ff\" is not unicast" },
	/* bad vlan */
	{ "dataplane: { ports = ( { name = \"o\"; device = \"d\"; "
	  "role = \"outside\"; } );\n next_hops = (\n  { name = \"nh\"; "
	  "port = \"o\"; mac = \"02:00:00:00:00:01\";\n vlan = 4095; } ); };\n",
	    NULL, NULL, "main.conf:4: \"vlan\" must be between 1 and 4094" },
	/* unknown next-hop port */
	{ "dataplane: { next_hops = (\n  { name = \"nh\"; port = \"o\"; "
	  "mac = \"02:00:00:00:00:01\"; } ); };\n",
	    NULL, NULL, "main.conf:2: unknown port \"o\"" },
	/* peers not mutual, and not outside/inside */
	{ "dataplane: { ports = (\n"
	  "  { name = \"o\"; device = \"d0\"; role = \"outside\"; "
	  "peer = \"i\"; },\n"
	  "  { name = \"i\"; device = \"d1\"; role = \"inside\"; } ); };\n",
	    NULL, NULL,
	    "main.conf:2: port \"o\" names peer \"i\", which does "
	    "not name it back" },
	{ "dataplane: { ports = (\n"
	  "  { name = \"o\"; device = \"d0\"; role = \"outside\"; "
	  "peer = \"i\"; },\n"
	  "  { name = \"i\"; device = \"d1\"; role = \"outside\";\n"
	  "    peer = \"o\"; } ); };\n",
	    NULL, NULL,
	    "main.conf:2: peers \"o\" and \"i\" must be one outside and one "
	    "inside port" },
	{ "dataplane: { ports = (\n"
	  "  { name = \"o\"; device = \"d0\"; role = \"outside\"; },\n"
	  "  { name = \"o\"; device = \"d1\"; role = \"inside\"; } ); };\n",
	    NULL, NULL, "main.conf:3: duplicate port \"o\"" },
	{ "dataplane: { ports = (\n"
	  "  { name = \"o\"; device = \"d0\"; role = \"outside\"; "
	  "peer = \"q\"; },\n"
	  "  { name = \"q\"; device = \"d1\"; role = \"other\"; "
	  "peer = \"o\"; } ); };\n",
	    NULL, NULL,
	    "main.conf:2: peers \"o\" and \"q\" must be one outside and one "
	    "inside port" },
	{ "dataplane: { ports = (\n"
	  "  { name = \"o\"; device = \"d0\"; role = \"other\";\n"
	  "    peer = \"o\"; } ); };\n",
	    NULL, NULL, "main.conf:3: port \"o\" cannot be its own peer" },
	{ "dataplane: { ports = (\n"
	  "  { name = \"a\"; device = \"d0\"; role = \"other\"; },\n"
	  "  { name = \"b\"; device = \"d1\"; role = \"other\";\n"
	  "    peer = \"a\"; } ); };\n",
	    NULL, NULL,
	    "main.conf:4: port \"b\": the peer of an \"other\" port must be "
	    "outside or inside" },
	{ "dataplane: { burst = 512; };\n", NULL, NULL,
	    "main.conf:1: \"burst\" must be between 1 and 256" },
	/* default and non_ip */
	{ "default = { action = \"reroute\"; };\n", NULL, NULL,
	    "main.conf:1: default action must be allow, drop or reject, not "
	    "\"reroute\"" },
	{ "non_ip = \"maybe\";\n", NULL, NULL,
	    "main.conf:1: non_ip must be \"allow\" or \"drop\"" },
	{ "non_ip = \"drop\";\nsource_route = \"judge\";\n", NULL, NULL,
	    "main.conf:2: source_route must be \"allow\" or \"drop\"" },
	/* reserved and country-like region names */
	{ "regions: { any = [ \"CN\" ]; };\n", NULL, NULL,
	    "main.conf:1: region name \"any\" is reserved" },
	{ "regions: { eu = [ \"FR\" ]; };\n", NULL, NULL,
	    "main.conf:1: region name \"eu\" looks like a country code" },
	{ "regions: { special = [ \"FR\" ]; };\n", NULL, NULL,
	    "main.conf:1: region name \"special\" is reserved" },
	{ "regions: { private = [ \"FR\" ]; };\n", NULL, NULL,
	    "main.conf:1: region name \"private\" is reserved" },
	/* too many geo layers */
	{ "geo: { databases = ( { file = \"1\"; }, { file = \"2\"; },\n"
	  "{ file = \"3\"; }, { file = \"4\"; }, { file = \"5\"; },\n"
	  "{ file = \"6\"; }, { file = \"7\"; }, { file = \"8\"; },\n"
	  "{ file = \"9\"; } ); };\n",
	    NULL, NULL, "main.conf:4: too many databases (at most 8)" },
	/* an error inside an included file names that file */
	{ "# main\n@include "
	  "\"profiles/regions.conf\"\n",
	    "profiles/regions.conf",
	    "regions:\n{\n  prohibited = [ \"CN\", \"XYZ\" ];\n};\n",
	    "profiles/regions.conf:3: region \"prohibited\": bad country \"XYZ\" "
	    "(an ISO 3166-1 code, a special-purpose region, or \"unknown\")" },
	{ "# main\n@include "
	  "\"profiles/regions.conf\"\n",
	    "profiles/regions.conf",
	    "regions:\n{\n  prohibited = [ \"CN\" ]\n  x = ;\n};\n",
	    "profiles/regions.conf:4: syntax error" },
	{ "@include \"profiles/none.conf\"\n", NULL, NULL,
	    "main.conf:1: cannot open include file" },
};

static void
test_bad_configs(void **state)
{
	struct conf *c = conf_new(), *snap = conf_new();
	char path[128], want[512], err[512];

	(void)state;
	/* A failed load must leave the running config as it was. */
	assert_int_equal(conf_load(SHIPPED, c, err, sizeof(err)), 0);
	memcpy(snap, c, sizeof(*c));
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];

		file_write("main.conf", b->main);
		if (b->inc_name != NULL)
			file_write(b->inc_name, b->inc);
		snprintf(want, sizeof(want), "%s/%s", tmpdir, b->want);
		err[0] = '\0';
		if (conf_load(path, c, err, sizeof(err)) != -1)
			fail_msg("case %zu loaded: %s", i, b->main);
		if (strcmp(err, want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, err, want);
		assert_memory_equal(c, snap, sizeof(*c));
	}
	free(snap);
	free(c);
}

static void
test_missing_file(void **state)
{
	struct conf *c = conf_new();
	char err[512];

	(void)state;
	assert_int_equal(conf_load("/nonexistent/cordon.conf", c, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "/nonexistent/cordon.conf:0: cannot read: "
	                         "No such file or directory");
	free(c);
}

/*
 * The built-in region "special" and its sub-regions: in regions, rules
 * and overrides, and printed back by name.
 */
static void
test_special_regions(void **state)
{
	struct conf *c = conf_new();
	char path[128], err[512] = "", *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	file_write("main.conf",
	    "geo: { overrides = (\n"
	    "  { prefix = \"11.0.0.0/8\"; country = \"private\"; } ); };\n"
	    "regions: { inner = [ \"private\", \"ula\" ];\n"
	    "  odd = [ \"special\", \"XK\" ]; };\n"
	    "rules = ( { name = \"r\"; src = [ \"special\", \"CN\" ];\n"
	    "  dst = [ \"link-local\" ]; action = \"drop\"; } );\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	if (conf_load(path, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->overrides[0].cc, GEO_SP_PRIVATE);
	assert_true(conf_ccset_has(&c->regions[0].cc, GEO_SP_ULA));
	assert_false(conf_ccset_has(&c->regions[0].cc, GEO_SP_LOOPBACK));
	for (geo_cc_t i = GEO_CC_SPECIAL; i < GEO_CC_MAX; i++) {
		assert_true(conf_ccset_has(&c->regions[1].cc, i));
		assert_true(conf_ccset_has(&c->rules[0].src, i));
	}
	assert_true(conf_ccset_has(&c->regions[1].cc, geo_cc_parse("XK")));
	assert_false(conf_ccset_has(&c->rules[0].src, GEO_CC_UNKNOWN));
	assert_true(conf_ccset_has(&c->rules[0].dst, GEO_SP_LINK_LOCAL));
	assert_int_equal(c->rules[0].src_ref[0].kind, CONF_REF_SPECIAL);
	assert_non_null(f = open_memstream(&text, &len));
	conf_print(c, f);
	fclose(f);
	assert_non_null(strstr(text, "src: special CN"));
	assert_non_null(strstr(text, "dst: link-local"));
	assert_non_null(strstr(text, "override 11.0.0.0/8 private"));
	free(text);
	free(c);
}

/* @include and geo files resolve against the main file's folder. */
static void
test_relative_paths(void **state)
{
	struct conf *c = conf_new();
	char path[128], want[256], err[512] = "";

	(void)state;
	file_write("sub/regions.conf", "regions: { bad = [ \"CN\", "
	                               "\"unknown\" ]; };\n");
	file_write("main.conf",
	    "@include \"sub/regions.conf\"\n"
	    "geo: { databases = ( { file = \"db/a.mmdb\"; },\n"
	    "  { file = \"/abs/b.mmdb\"; field = \"country_code\"; } );\n"
	    "  overrides = ( { prefix = \"203.0.113.0/24\"; country = \"cn\"; "
	    "},\n"
	    "    { prefix = \"2001:db8:1::/48\"; country = \"unknown\"; },\n"
	    "    { prefix = \"198.51.100.7\"; country = \"US\"; } ); };\n"
	    "rules = ( { name = \"r\"; src = \"bad\"; action = \"drop\"; } "
	    ");\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	assert_int_equal(conf_load(path, c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/db/a.mmdb", tmpdir);
	assert_string_equal(c->geo_path[0], want);
	assert_string_equal(c->geo_field[0], GEO_DEFAULT_FIELD);
	assert_string_equal(c->geo_path[1], "/abs/b.mmdb");
	assert_string_equal(c->geo_field[1], "country_code");
	assert_int_equal(c->noverrides, 3);
	assert_int_equal(c->overrides[0].af, 4);
	assert_int_equal(c->overrides[0].plen, 24);
	assert_memory_equal(c->overrides[0].addr, "\xcb\x00\x71\x00", 4);
	assert_int_equal(c->overrides[0].cc, geo_cc_parse("CN"));
	assert_int_equal(c->overrides[1].af, 6);
	assert_int_equal(c->overrides[1].plen, 48);
	assert_memory_equal(c->overrides[1].addr, "\x20\x01\x0d\xb8\x00\x01",
	    6);
	assert_int_equal(c->overrides[1].cc, GEO_CC_UNKNOWN);
	assert_int_equal(c->overrides[2].plen, 32);
	assert_true(conf_ccset_has(&c->rules[0].src, GEO_CC_UNKNOWN));
	free(c);
}

/* What an empty file means: allow everything, no rules. */
static void
test_defaults(void **state)
{
	struct conf *c = conf_new();
	char path[128], err[512];

	(void)state;
	file_write("main.conf", "# nothing\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	assert_int_equal(conf_load(path, c, err, sizeof(err)), 0);
	assert_int_equal(c->nrules, 0);
	assert_int_equal(c->ngeo, 0);
	assert_int_equal(c->default_action, CDN_ACT_ALLOW);
	assert_int_equal(c->nonip_action, CDN_ACT_ALLOW);
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->mbufs, 16384);
	free(c);
}

static void
test_rule_forms(void **state)
{
	struct conf *c = conf_new();
	char path[128], err[512] = "";
	const struct conf_rule *r;

	(void)state;
	file_write("main.conf",
	    "services: { rdp = { proto = [ \"tcp\", \"udp\" ]; ports = 3389; "
	    "};\n"
	    "  snmp = { proto = \"udp\"; ports = ( 161, \"10161-10162\" ); }; "
	    "};\n"
	    "dataplane: { ports = ( { name = \"o\"; device = \"net_null0\";\n"
	    "  role = \"other\"; peer = \"w\"; },\n"
	    "  { name = \"w\"; device = \"net_null1\";\n"
	    "    role = \"outside\"; } );\n"
	    "  next_hops = ( { name = \"nh\"; port = \"o\";\n"
	    "    mac = \"02:AB:cd:00:00:01\"; vlan = 7; } ); };\n"
	    "rules = (\n"
	    "  { name = \"a\"; src = \"CN\"; dst = [ \"unknown\", \"US\" ];\n"
	    "    services = [ \"rdp\", \"snmp\" ]; proto = \"udp\";\n"
	    "    action = \"reroute\"; nexthop = \"nh\"; direction = \"out\"; "
	    "},\n"
	    "  { name = \"b\"; ports = [ \"8080\" ]; action = \"reject\"; },\n"
	    "  { name = \"c\"; src = [ \"any\", \"CN\" ]; proto = \"icmp\";\n"
	    "    action = \"allow\"; }\n"
	    ");\n"
	    "default = { action = \"drop\"; log = true; };\nnon_ip = "
	    "\"drop\";\nsource_route = \"allow\";\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	assert_int_equal(conf_load(path, c, err, sizeof(err)), 0);
	assert_int_equal(c->services[1].nranges, 2);
	assert_int_equal(c->services[1].range[1].hi, 10162);
	/* An "other" port may send one way to a port that does not. */
	assert_int_equal(c->ports[0].peer, 1);
	assert_int_equal(c->ports[1].peer, -1);
	assert_int_equal(c->nexthops[0].vlan, 7);
	assert_memory_equal(c->nexthops[0].mac, "\x02\xab\xcd\x00\x00\x01", 6);
	r = &c->rules[0];
	assert_false(r->dst_any);
	assert_true(conf_ccset_has(&r->dst, GEO_CC_UNKNOWN));
	assert_int_equal(r->protos, CONF_P_UDP);
	assert_int_equal(r->services, 3);
	assert_int_equal(r->nexthop, 0);
	assert_int_equal(r->dir, CONF_DIR_OUT);
	r = &c->rules[1];
	assert_int_equal(r->protos, CONF_P_TCP | CONF_P_UDP);
	assert_int_equal(r->action, CDN_ACT_REJECT);
	assert_true(r->src_any);
	r = &c->rules[2];
	assert_true(r->src_any);
	assert_true(r->svc_any);
	assert_int_equal(r->protos, CONF_P_ICMP);
	assert_int_equal(c->default_action, CDN_ACT_DROP);
	assert_true(c->log_default);
	assert_int_equal(c->nonip_action, CDN_ACT_DROP);
	assert_int_equal(c->srcroute_action, CDN_ACT_ALLOW);
	free(c);
}

/* Relay classes in origin and via (issue 13): accepted, as in src. */
static void
test_rule_relay_classes(void **state)
{
	struct conf *c = conf_new();
	char path[128], err[512] = "";
	const struct conf_rule *r;

	(void)state;
	file_write("main.conf",
	    "geo: { classes = ( { name = \"tor\"; prefixes = \"t.txt\"; },\n"
	    "  { name = \"vpn\"; prefixes = \"v.txt\"; } ); };\n"
	    "rules = (\n"
	    "  { name = \"a\"; origin = [ \"class:vpn\", \"CN\" ];\n"
	    "    via = \"class:tor\"; action = \"drop\"; }\n);\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	if (conf_load(path, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	r = &c->rules[0];
	assert_true(r->has_origin);
	assert_true(r->has_via);
	assert_int_equal(r->origin.cls, 2);
	assert_true(conf_ccset_has(&r->origin, geo_cc_parse("CN")));
	assert_int_equal(r->via.cls, 1);
	assert_true(conf_ccset_empty(&r->via));
	assert_true(r->src_any);
	assert_int_equal(r->src.cls, 0);
	free(c);
}

/*
 * dst_via, any layer's destination: regions, countries, unknown and
 * special as dst, kept apart from dst.
 */
static void
test_rule_dst_via(void **state)
{
	struct conf *c = conf_new();
	char path[128], err[512] = "";
	const struct conf_rule *r;

	(void)state;
	file_write("main.conf",
	    "regions: { bad = [ \"RU\" ]; };\n"
	    "rules = (\n"
	    "  { name = \"a\"; dst_via = [ \"bad\", \"CN\", \"unknown\", "
	    "\"special\" ];\n"
	    "    action = \"drop\"; },\n"
	    "  { name = \"b\"; dst = \"US\"; action = \"allow\"; }\n);\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	if (conf_load(path, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	r = &c->rules[0];
	assert_true(r->has_dst_via);
	assert_true(r->dst_any);
	assert_int_equal(r->ndst_via_ref, 4);
	assert_true(conf_ccset_has(&r->dst_via, geo_cc_parse("RU")));
	assert_true(conf_ccset_has(&r->dst_via, geo_cc_parse("CN")));
	assert_true(conf_ccset_has(&r->dst_via, GEO_CC_UNKNOWN));
	assert_true(conf_ccset_has(&r->dst_via, GEO_SP_PRIVATE));
	assert_false(conf_ccset_has(&r->dst_via, geo_cc_parse("US")));
	assert_false(c->rules[1].has_dst_via);
	free(c);
}

/* Every config the project ships must load. */
static void
test_demo(void **state)
{
	struct conf *c = conf_new();
	char err[512] = "";

	(void)state;
	if (conf_load("appliance/demo/demo.conf", c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c->nports, 3);
	assert_int_equal(c->ports[2].role, CONF_ROLE_OTHER);
	assert_int_equal(c->ports[2].peer, 0);
	assert_int_equal(c->rules[0].action, CDN_ACT_REROUTE);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_print_golden),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_special_regions),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rule_forms),
		cmocka_unit_test(test_rule_relay_classes),
		cmocka_unit_test(test_rule_dst_via),
		cmocka_unit_test(test_demo),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
