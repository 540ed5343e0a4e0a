/*
 * Candidate edits: every kind set and deleted in the flattened shipped
 * config, rules placed and moved, objects replaced where they stood, and
 * each bad request refused with a message; load merge (cand_merge).
 * Edited texts are checked by loading them with the real config loader.
 */
#include <errno.h>
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
#include "control/store/store.h"
#include "core/stats/reasons.h"

static char tmpdir[64];
static char err[512];
static char *shipped; /* tests/fixtures/cand/base.conf, flattened */
static struct conf *conf;

static int
setup(void **state)
{
	size_t len;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cand.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return -1;
	if (store_flatten("tests/fixtures/cand/base.conf", &shipped, &len, err,
	        sizeof(err)) < 0) {
		fprintf(stderr, "store_flatten: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(shipped);
	free(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* conf_load of TEXT into the global conf; -1 with err on failure. */
static int
load(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cand.conf", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return conf_load(path, conf, err, sizeof(err));
}

static void
load_ok(const char *text)
{
	if (load(text) < 0)
		fail_msg("conf_load: %s\n%s", err, text);
}

/* cand_set with ATTRS as JSON text; frees TEXT when it is not shipped. */
static char *
set(char *text, const char *kind, const char *name, const char *attrs)
{
	json_t *a = json_loads(attrs, 0, NULL);
	char *out;

	assert_non_null(a);
	if (cand_set(text, kind, name, a, &out, err, sizeof(err)) < 0)
		fail_msg("cand_set %s %s: %s", kind, name, err);
	json_decref(a);
	if (text != shipped)
		free(text);
	return out;
}

static char *
del(char *text, const char *kind, const char *name)
{
	char *out;

	if (cand_delete(text, kind, name, &out, err, sizeof(err)) < 0)
		fail_msg("cand_delete %s %s: %s", kind, name, err);
	if (text != shipped)
		free(text);
	return out;
}

/* cand_set must fail with a message containing WANT. */
static void
set_fails(const char *text, const char *kind, const char *name,
    const char *attrs, const char *want)
{
	json_t *a = attrs ? json_loads(attrs, 0, NULL) : NULL;
	char *out = (char *)1;

	assert_true(attrs == NULL || a != NULL);
	err[0] = '\0';
	if (cand_set(text, kind, name, a, &out, err, sizeof(err)) == 0)
		fail_msg("cand_set %s %s %s passed", kind, name, attrs);
	json_decref(a);
	assert_null(out);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
del_fails(const char *text, const char *kind, const char *name,
    const char *want)
{
	char *out;

	assert_int_equal(cand_delete(text, kind, name, &out, err, sizeof(err)),
	    -1);
	assert_null(out);
	if (strcmp(err, want) != 0)
		fail_msg("error \"%s\", want \"%s\"", err, want);
}

/* The loaded rule names, in order, space separated. */
static const char *
rule_order(const char *text)
{
	static char buf[512];
	size_t off = 0;

	load_ok(text);
	buf[0] = '\0';
	for (unsigned i = 0; i < conf->nrules; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i ? " " : "", conf->rules[i].name);
	return buf;
}

static void
test_rule_add(void **state)
{
	const struct conf_rule *r;
	char *t;

	(void)state;
	t = set(shipped, "rule", "ssh-cn",
	    "{\"src\": [\"CN\", \"prohibited\"], \"dst\": \"any\","
	    " \"services\": [\"ssh\"], \"proto\": \"tcp\","
	    " \"direction\": \"in\", \"action\": \"reject\", \"log\": true}");
	load_ok(t);
	assert_int_equal(conf->nrules, 2);
	r = &conf->rules[1];
	assert_string_equal(r->name, "ssh-cn");
	assert_int_equal(r->action, cdn_action_parse("reject"));
	assert_true(r->log);
	assert_int_equal(r->dir, CONF_DIR_IN);
	assert_int_equal(r->protos, CONF_P_TCP);
	assert_false(r->src_any);
	assert_true(r->dst_any);
	/* Written as cordon.conf writes it. */
	assert_non_null(strstr(t, "name = \"ssh-cn\";"));
	assert_non_null(strstr(t, "src = [ \"CN\", \"prohibited\" ];"));
	assert_non_null(strstr(t, "log = true;"));

	t = set(t, "rule", "web",
	    "{\"ports\": [\"80\", \"8000-8080\", 443],"
	    " \"proto\": [\"tcp\", \"udp\"], \"action\": \"allow\","
	    " \"position\": null}");
	load_ok(t);
	assert_int_equal(conf->nrules, 3);
	r = &conf->rules[2];
	assert_int_equal(r->nports, 3);
	assert_int_equal(r->ports[1].lo, 8000);
	assert_int_equal(r->ports[1].hi, 8080);
	assert_int_equal(r->ports[2].lo, 443);
	assert_int_equal(r->protos, CONF_P_TCP | CONF_P_UDP);
	free(t);
}

static void
test_rule_position(void **state)
{
	char *t;

	(void)state;
	t = set(shipped, "rule", "r2", "{\"action\": \"allow\"}");
	t = set(t, "rule", "r3", "{\"action\": \"allow\"}");
	assert_string_equal(rule_order(t), "mgmt-from-prohibited r2 r3");
	t = set(t, "rule", "r3", "{\"action\": \"drop\", \"position\": 1}");
	assert_string_equal(rule_order(t), "r3 mgmt-from-prohibited r2");
	assert_int_equal(conf->rules[0].action, cdn_action_parse("drop"));
	/* Without a position a rule stays where it is. */
	t = set(t, "rule", "mgmt-from-prohibited", "{\"action\": \"drop\"}");
	assert_string_equal(rule_order(t), "r3 mgmt-from-prohibited r2");
	t = set(t, "rule", "r2", "{\"action\": \"allow\", \"position\": 2}");
	assert_string_equal(rule_order(t), "r3 r2 mgmt-from-prohibited");
	t = set(t, "rule", "r4", "{\"action\": \"allow\", \"position\": 2}");
	assert_string_equal(rule_order(t), "r3 r4 r2 mgmt-from-prohibited");
	t = set(t, "rule", "r3", "{\"action\": \"allow\", \"position\": 4}");
	assert_string_equal(rule_order(t), "r4 r2 mgmt-from-prohibited r3");
	t = set(t, "rule", "r5", "{\"action\": \"allow\", \"position\": 5}");
	assert_string_equal(rule_order(t), "r4 r2 mgmt-from-prohibited r3 r5");
	set_fails(t, "rule", "r6", "{\"action\": \"allow\", \"position\": 7}",
	    "rule \"r6\": position 7 is past the end (1-6)");
	set_fails(t, "rule", "r5", "{\"action\": \"allow\", \"position\": 6}",
	    "position 6 is past the end (1-5)");
	t = del(t, "rule", "r2");
	assert_string_equal(rule_order(t), "r4 mgmt-from-prohibited r3 r5");
	t = del(t, "rule", "r4");
	t = del(t, "rule", "r3");
	t = del(t, "rule", "r5");
	t = del(t, "rule", "mgmt-from-prohibited");
	assert_string_equal(rule_order(t), "");
	del_fails(t, "rule", "r5", "no rule named r5");
	/* Told apart from a bad edit: the daemon's no-such-name. */
	assert_int_equal(errno, ENOENT);
	free(t);
}

/* set replaces the whole rule: what is not given is gone. */
static void
test_rule_replace(void **state)
{
	const struct conf_rule *r;
	char *t;

	(void)state;
	t = set(shipped, "rule", "mgmt-from-prohibited",
	    "{\"action\": \"drop\"}");
	load_ok(t);
	assert_int_equal(conf->nrules, 1);
	r = &conf->rules[0];
	assert_true(r->src_any);
	assert_true(r->svc_any);
	assert_false(r->log);
	assert_int_equal(r->dir, CONF_DIR_ANY);
	assert_null(strstr(t, "snmp\", \"netconf"));
	free(t);
}

static void
test_region(void **state)
{
	int i;
	char *t;

	(void)state;
	t = set(shipped, "region", "allies",
	    "{\"countries\": [\"DE\", \"FR\"]}");
	load_ok(t);
	assert_int_equal(conf->nregions, 2);
	i = conf_region_find(conf, "allies");
	assert_int_equal(i, 1);
	assert_true(
	    conf_ccset_has(&conf->regions[i].cc, (geo_cc_t)geo_cc_parse("FR")));
	/* Replaced where it stood. */
	t = set(t, "region", "prohibited", "{\"countries\": [\"CN\"]}");
	load_ok(t);
	assert_int_equal(conf_region_find(conf, "prohibited"), 0);
	assert_true(
	    conf_ccset_has(&conf->regions[0].cc, (geo_cc_t)geo_cc_parse("CN")));
	assert_false(
	    conf_ccset_has(&conf->regions[0].cc, (geo_cc_t)geo_cc_parse("RU")));
	t = set(t, "region", "lab", "{\"countries\": \"unknown\"}");
	load_ok(t);
	assert_int_equal(conf->nregions, 3);
	t = del(t, "region", "allies");
	t = del(t, "region", "lab");
	load_ok(t);
	assert_int_equal(conf->nregions, 1);
	del_fails(t, "region", "lab", "no region named lab");
	/* Well-formed, but the rule still names it: the commit refuses. */
	t = del(t, "region", "prohibited");
	assert_int_equal(load(t), -1);
	assert_non_null(strstr(err, "unknown region or country "
	                            "\"prohibited\""));
	free(t);
}

static void
test_service(void **state)
{
	int i;
	char *t;

	(void)state;
	t = set(shipped, "service", "ssh",
	    "{\"proto\": \"tcp\", \"ports\": [\"2222\"]}");
	load_ok(t);
	i = conf_service_find(conf, "ssh");
	assert_int_equal(i, 0);
	assert_int_equal(conf->services[0].nranges, 1);
	assert_int_equal(conf->services[0].range[0].lo, 2222);
	assert_int_equal(conf->nservices, 9);
	t = set(t, "service", "gopher",
	    "{\"proto\": [\"tcp\"], "
	    "\"ports\": 70}");
	load_ok(t);
	assert_int_equal(conf->nservices, 10);
	assert_int_equal(conf_service_find(conf, "gopher"), 9);
	t = del(t, "service", "gopher");
	load_ok(t);
	assert_int_equal(conf->nservices, 9);
	del_fails(t, "service", "gopher", "no service named gopher");
	free(t);
}

static void
test_override(void **state)
{
	char *t;

	(void)state;
	t = set(shipped, "override", "198.51.100.0/24",
	    "{\"country\": \"DE\"}");
	t = set(t, "override", "2001:db8::/32", "{\"country\": \"unknown\"}");
	load_ok(t);
	assert_int_equal(conf->noverrides, 2);
	assert_int_equal(conf->overrides[0].cc, geo_cc_parse("DE"));
	/* The same prefix again replaces it, in place. */
	t = set(t, "override", "198.51.100.0/24", "{\"country\": \"CN\"}");
	load_ok(t);
	assert_int_equal(conf->noverrides, 2);
	assert_int_equal(conf->overrides[0].cc, geo_cc_parse("CN"));
	assert_int_equal(conf->overrides[0].plen, 24);
	assert_int_equal(conf->overrides[1].af, 6);
	t = del(t, "override", "198.51.100.0/24");
	load_ok(t);
	assert_int_equal(conf->noverrides, 1);
	del_fails(t, "override", "198.51.100.0/24",
	    "no override for prefix 198.51.100.0/24");
	free(t);

	/* No geo section at all: one is made. */
	t = set(strdup(""), "override", "192.0.2.1", "{\"country\": \"us\"}");
	load_ok(t);
	assert_int_equal(conf->noverrides, 1);
	assert_int_equal(conf->overrides[0].plen, 32);
	free(t);
}

static void
test_nexthop(void **state)
{
	char *t;

	(void)state;
	t = set(shipped, "nexthop", "scrubber",
	    "{\"port\": \"inside0\","
	    " \"mac\": \"02:00:00:00:00:99\", \"vlan\": 100}");
	t = set(t, "rule", "scrub",
	    "{\"src\": \"prohibited\", "
	    "\"action\": \"reroute\", \"nexthop\": \"scrubber\"}");
	load_ok(t);
	assert_int_equal(conf->nnexthops, 1);
	assert_int_equal(conf->nexthops[0].vlan, 100);
	assert_int_equal(conf->nexthops[0].mac[5], 0x99);
	assert_int_equal(conf->rules[1].nexthop, 0);
	t = set(t, "nexthop", "scrubber",
	    "{\"port\": \"outside0\","
	    " \"mac\": \"02:00:00:00:00:98\"}");
	load_ok(t);
	assert_int_equal(conf->nnexthops, 1);
	assert_int_equal(conf->nexthops[0].vlan, -1);
	assert_int_equal(conf->nexthops[0].port,
	    conf_port_find(conf, "outside0"));
	/* The kernel backend's next-hop keys go through set too. */
	t = set(t, "nexthop", "scrubber",
	    "{\"port\": \"outside0\", \"mac\": \"02:00:00:00:00:98\","
	    " \"address\": \"10.30.0.2\", \"address6\": \"fd00:30::2\","
	    " \"table\": 55, \"fwmark\": 119}");
	load_ok(t);
	assert_true(conf->nexthops[0].has_addr4);
	assert_int_equal(conf->nexthops[0].addr4[3], 2);
	assert_true(conf->nexthops[0].has_addr6);
	assert_int_equal(conf->nexthops[0].table, 55);
	assert_int_equal(conf->nexthops[0].fwmark, 119);
	t = del(t, "rule", "scrub");
	t = del(t, "nexthop", "scrubber");
	load_ok(t);
	assert_int_equal(conf->nnexthops, 0);
	del_fails(t, "nexthop", "scrubber", "no next hop named scrubber");
	free(t);
}

static void
test_default(void **state)
{
	char *t;

	(void)state;
	t = set(shipped, "default", NULL,
	    "{\"action\": \"drop\", "
	    "\"log\": true}");
	load_ok(t);
	assert_int_equal(conf->default_action, cdn_action_parse("drop"));
	assert_true(conf->log_default);
	t = set(t, "default", "ignored", "{\"action\": \"reject\"}");
	load_ok(t);
	assert_int_equal(conf->default_action, cdn_action_parse("reject"));
	assert_false(conf->log_default);
	t = del(t, "default", NULL);
	load_ok(t);
	assert_int_equal(conf->default_action, cdn_action_parse("allow"));
	assert_int_equal(conf->default_line, 0);
	del_fails(t, "default", NULL, "no default is set");
	free(t);
}

/* A whole policy built up from an empty text. */
static void
test_from_empty(void **state)
{
	char *t;

	(void)state;
	t = set(strdup(""), "region", "bad", "{\"countries\": [\"KP\"]}");
	t = set(t, "service", "ssh", "{\"proto\": \"tcp\", \"ports\": 22}");
	t = set(t, "rule", "no-ssh",
	    "{\"src\": \"bad\", \"services\": "
	    "\"ssh\", \"action\": \"drop\"}");
	t = set(t, "default", "", "{\"action\": \"allow\"}");
	load_ok(t);
	assert_int_equal(conf->nrules, 1);
	assert_int_equal(conf->nregions, 1);
	assert_int_equal(conf->nservices, 1);
	free(t);
}

static void
test_errors(void **state)
{
	const char *s = shipped;
	char *t;

	(void)state;
	set_fails(s, "zone", "x", "{}",
	    "unknown kind \"zone\" (expected one "
	    "of: rule, region, service, override, nexthop, default)");
	set_fails(s, "rule", "", "{}", "rule: a name is required");
	set_fails(s, "rule", NULL, "{}", "rule: a name is required");
	set_fails(s, "rule", "x", "{\"acton\": \"drop\"}",
	    "rule \"x\": unknown attribute \"acton\" (expected one of: src, "
	    "dst, services, proto, ports, direction, action, nexthop, log, "
	    "origin, via, dst_via, tunnel, evidence, position)");
	set_fails(s, "rule", "x", "{\"name\": \"x\"}", "unknown attribute");
	set_fails(s, "rule", "x", "{\"log\": \"yes\"}",
	    "rule \"x\": log must be a boolean");
	set_fails(s, "rule", "x", "{\"src\": 5}",
	    "src must be a string or an array of strings");
	set_fails(s, "rule", "x", "{\"src\": [\"CN\", 1]}",
	    "src must be a string or an array of strings");
	set_fails(s, "rule", "x", "{\"ports\": [true]}",
	    "ports must be an array of ports");
	set_fails(s, "rule", "x", "{\"action\": [\"drop\"]}",
	    "action must be a string");
	set_fails(s, "rule", "x", "{\"position\": 0}",
	    "position must be a position");
	set_fails(s, "rule", "x", "{\"position\": \"1\"}",
	    "position must be a position");
	set_fails(s, "region", "x", "{\"countries\": {}}",
	    "region \"x\": countries must be an array of strings");
	set_fails(s, "nexthop", "x", "{\"vlan\": \"100\"}",
	    "nexthop \"x\": vlan must be an integer");
	set_fails(s, "nexthop", "x", "{\"vlan\": 99999999999}",
	    "vlan must be an integer");
	set_fails(s, "override", "192.0.2.0/24", "{\"prefix\": \"x\"}",
	    "unknown attribute \"prefix\" (expected one of: country)");
	set_fails(s, "default", NULL, "{\"nexthop\": \"x\"}",
	    "default \"default\": unknown attribute \"nexthop\"");
	set_fails(s, "default", NULL, "[1]", "attrs must be a JSON object");
	set_fails(s, "region", "1bad", "{\"countries\": [\"DE\"]}",
	    "region \"1bad\": bad name");
	set_fails(s, "service", "a b", "{}", "service \"a b\": bad name");
	/* The text itself. */
	set_fails("a = 1;\nb = ;\n", "rule", "x", "{}",
	    "candidate:2: syntax error");
	set_fails("a = 1;\n  @include \"/etc/passwd\"\n", "rule", "x", "{}",
	    "candidate:2: @include is not allowed");
	set_fails("rules = 5;\n", "rule", "x", "{}",
	    "candidate:1: rules is not a list");
	set_fails("geo = ( 1 );\n", "override", "192.0.2.0/24", "{}",
	    "geo is not a group");
	del_fails(s, "rule", "nope", "no rule named nope");
	del_fails(s, "bogus", "x",
	    "unknown kind \"bogus\" (expected one "
	    "of: rule, region, service, override, nexthop, default)");
	del_fails(s, "override", "203.0.113.0/24",
	    "no override for prefix 203.0.113.0/24");
	del_fails("", "nexthop", "x", "no next hop named x");
	/* Strings with quotes and escapes survive the round trip. */
	t = set(strdup(""), "rule", "q\"\\x", "{\"action\": \"allow\"}");
	assert_non_null(strstr(t, "name = \"q\\\"\\\\x\";"));
	t = del(t, "rule", "q\"\\x");
	assert_null(strstr(t, "q\\\""));
	free(t);
}

/*
 * load merge (cand_merge): FILE merged onto ONTO, loaded into conf.
 * Groups merge member by member; named objects (regions and services
 * members, rules, ports, next hops by name, overrides by prefix) are
 * replaced whole in their place or appended; nothing is removed.
 */
static char *
merged_onto(const char *onto, const char *file)
{
	char *out;

	if (cand_merge(onto, file, "site.conf", &out, err, sizeof(err)) < 0)
		fail_msg("cand_merge: %s", err);
	load_ok(out);
	return out;
}

static char *
merged(const char *file)
{
	return merged_onto(shipped, file);
}

static const struct conf_rule *
rule_at(unsigned i)
{
	assert_true(i < conf->nrules);
	return &conf->rules[i];
}

static void
test_merge_rules(void **state)
{
	char *t;

	(void)state;
	t = merged("rules = ( { name = \"ssh-in\"; services = [ \"ssh\" ];"
	           " action = \"reject\"; },\n"
	           " { name = \"mgmt-from-prohibited\"; src = [ \"CN\" ];"
	           " services = [ \"ssh\" ]; action = \"reject\"; } );\n");
	/* Replaced in its place, whole (no log, no direction left over);
	 * the new one appended. */
	assert_int_equal(conf->nrules, 2);
	assert_string_equal(rule_at(0)->name, "mgmt-from-prohibited");
	assert_int_equal(rule_at(0)->action, CDN_ACT_REJECT);
	assert_false(rule_at(0)->log);
	assert_string_equal(rule_at(1)->name, "ssh-in");
	assert_null(strstr(t, "\"telnet\", \"rdp\""));
	free(t);
}

static void
test_merge_groups(void **state)
{
	char *t;

	(void)state;
	t = merged(
	    "regions: { prohibited = [ \"KP\" ]; banned = [ \"BY\" ]; };\n"
	    "services: { rdp = { proto = \"tcp\"; ports = [ \"3390\" "
	    "]; }; };\n"
	    "default = { action = \"drop\"; };\n"
	    "dataplane: { workers = 2; next_hops = ( { name = \"nh\";"
	    " port = \"outside0\"; mac = \"02:00:00:00:00:01\"; } );"
	    " };\n"
	    "non_ip = \"drop\";\n");
	/* Regions: prohibited replaced, banned added, nothing removed. */
	assert_non_null(strstr(t, "prohibited = [ \"KP\" ];"));
	assert_non_null(strstr(t, "banned = [ \"BY\" ];"));
	/* A service replaced whole: its udp is gone, the others stay. */
	assert_non_null(strstr(t, "ports = [ \"3390\" ];"));
	assert_int_equal(conf->nservices, 9);
	/* default merged member by member: log kept, action changed. */
	assert_int_equal(conf->default_action, CDN_ACT_DROP);
	assert_non_null(strstr(t, "log = false;"));
	/* dataplane: workers replaced, ports kept, a next hop added. */
	assert_int_equal(conf->workers, 2);
	assert_int_equal(conf->nports, 2);
	assert_int_equal(conf->nnexthops, 1);
	assert_int_equal(conf->nrules, 1);
	free(t);
}

static void
test_merge_overrides(void **state)
{
	char *t, *t2;

	(void)state;
	t = merged("geo: { overrides = ( { prefix = \"192.0.2.0/24\"; "
	           "country = \"CN\"; } ); };\n");
	assert_int_equal(conf->noverrides, 1);
	/* Merging onto that: the same prefix replaced, another appended. */
	t2 = merged_onto(t,
	    "geo: { overrides = ( { prefix = \"198.51.100.0/24\"; "
	    "country = \"RU\"; }, { prefix = \"192.0.2.0/24\"; "
	    "country = \"KP\"; } ); };\n");
	assert_int_equal(conf->noverrides, 2);
	assert_null(strstr(t2, "\"CN\"; }"));
	assert_non_null(strstr(t2, "country = \"KP\""));
	assert_int_equal(conf->ngeo, 1); /* databases untouched */
	free(t2);
	free(t);
}

static void
test_merge_refusals(void **state)
{
	char *out = NULL, *t = NULL;

	(void)state;
	assert_int_equal(cand_merge(shipped, "rules = ( { name = \"x\";\n",
	                     "f.conf", &out, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "f.conf:2: syntax error"));
	assert_int_equal(cand_merge(shipped,
	                     "a = 1;\n @include \"/etc/passwd\"\n", "f.conf",
	                     &out, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "f.conf:2: @include is not allowed"));
	assert_null(out);
	/* A rule named twice: the allow would have replaced the drop. */
	assert_int_equal(cand_merge(shipped,
	                     "rules = (\n"
	                     " { name = \"x\"; action = \"drop\"; },\n"
	                     " { name = \"x\"; action = \"allow\"; } );\n",
	                     "f.conf", &out, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(
	    strstr(err, "f.conf:3: name \"x\" is in the file twice"));
	assert_null(out);
	assert_int_equal(
	    cand_merge(shipped,
	        "geo = { overrides = (\n"
	        " { prefix = \"192.0.2.0/24\"; country = \"US\"; },\n"
	        " { prefix = \"192.0.2.0/24\"; country = \"CN\"; } ); };\n",
	        "f.conf", &out, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "prefix \"192.0.2.0/24\" is in the file"));
	/* Rules the file orders with differing actions keep that order,
	 * or the merge is refused: a new allow before the shipped reject,
	 * appended, would come after it (test_merge_rules: same actions). */
	assert_int_equal(
	    cand_merge(shipped,
	        "rules = (\n"
	        " { name = \"ok\"; src = [ \"US\" ]; action = \"allow\"; },\n"
	        " { name = \"mgmt-from-prohibited\"; src = [ \"CN\" ];"
	        " action = \"reject\"; } );\n",
	        "f.conf", &out, err, sizeof(err)),
	    -1);
	assert_null(out);
	/* A new drop before an allow the candidate has: refused. */
	assert_int_equal(
	    cand_merge(shipped,
	        "rules = (\n"
	        " { name = \"mgmt-from-prohibited\"; src = [ \"CN\" ];"
	        " action = \"allow\"; },\n"
	        " { name = \"x\"; action = \"drop\"; } );\n",
	        "f.conf", &out, err, sizeof(err)),
	    0);
	assert_int_equal(
	    cand_merge(out,
	        "rules = (\n"
	        " { name = \"bad-host\"; src = [ \"192.0.2.66\" ];"
	        " action = \"drop\"; },\n"
	        " { name = \"mgmt-from-prohibited\"; src = [ \"CN\" ];"
	        " action = \"allow\"; } );\n",
	        "f.conf", &t, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err,
	    "f.conf:3: rule \"mgmt-from-prohibited\" (allow) comes after "
	    "\"bad-host\" (drop)"));
	free(out);
}

/* rename rule: same place, same body, a new name; refusals by errno. */
static void
test_rule_rename(void **state)
{
	char *t, *out;

	(void)state;
	t = set(strdup(""), "rule", "a", "{\"action\": \"allow\"}");
	t = set(t, "rule", "b", "{\"action\": \"drop\", \"src\": \"CN\"}");
	t = set(t, "rule", "c", "{\"action\": \"allow\"}");
	assert_int_equal(cand_rename(t, "rule", "b", "bee", &out, err,
	                     sizeof(err)),
	    0);
	assert_string_equal(rule_order(out), "a bee c");
	assert_true(conf->rules[1].action == CDN_ACT_DROP);
	free(out);
	assert_int_equal(cand_rename(t, "rule", "nosuch", "x", &out, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_null(out);
	assert_int_equal(cand_rename(t, "rule", "a", "c", &out, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(cand_rename(t, "region", "a", "z", &out, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	free(t);
}

/*
 * The groups only root may change (cand_root_same): a rule edit leaves
 * them the same; dp_binary, an EAL argument, the evidence folder or a
 * control group added are each a difference, named.
 */
static void
test_root_groups(void **state)
{
	const char *base = "rules = ( { name = \"a\"; action = \"drop\"; } );\n"
	                   "control = { dp_binary = \"/usr/sbin/cordon-dp\"; "
	                   "geo_max_age = 0; };\n"
	                   "dataplane = { eal = [ \"--no-pci\" ]; };\n";
	const char *which;

	(void)state;
	assert_int_equal(cand_root_same(base, base, &which), 1);
	assert_int_equal(
	    cand_root_same(base,
	        "control = { geo_max_age = 0; dp_binary = "
	        "\"/usr/sbin/cordon-dp\"; };\n"
	        "dataplane = { eal = [ \"--no-pci\" ]; };\n"
	        "rules = ( { name = \"b\"; action = \"allow\"; } );\n",
	        &which),
	    1);
	assert_int_equal(cand_root_same(base,
	                     "rules = ();\ncontrol = { dp_binary = \"/tmp/x\"; "
	                     "geo_max_age = 0; };\n"
	                     "dataplane = { eal = [ \"--no-pci\" ]; };\n",
	                     &which),
	    0);
	assert_string_equal(which, "control");
	assert_int_equal(cand_root_same(base,
	                     "control = { dp_binary = \"/usr/sbin/cordon-dp\"; "
	                     "geo_max_age = 0; };\n"
	                     "dataplane = { eal = [ \"--no-pci\", \"-d\", "
	                     "\"/tmp/x.so\" ]; };\n",
	                     &which),
	    0);
	assert_string_equal(which, "dataplane");
	assert_int_equal(cand_root_same(base,
	                     "control = { dp_binary = \"/usr/sbin/cordon-dp\"; "
	                     "geo_max_age = 0; };\n"
	                     "dataplane = { eal = [ \"--no-pci\" ]; };\n"
	                     "evidence = { dir = \"/etc/cron.d\"; };\n",
	                     &which),
	    0);
	assert_string_equal(which, "evidence");
	assert_int_equal(cand_root_same("rules = ();\n",
	                     "rules = ();\ncontrol = { };\n", &which),
	    0);
	assert_int_equal(cand_root_same(base, "rules = (", &which), -1);
	assert_int_equal(cand_root_same(base, "@include \"/etc/shadow\"\n",
	                     &which),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_rename),
		cmocka_unit_test(test_rule_add),
		cmocka_unit_test(test_rule_position),
		cmocka_unit_test(test_rule_replace),
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_nexthop),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_from_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_merge_groups),
		cmocka_unit_test(test_merge_overrides),
		cmocka_unit_test(test_merge_refusals),
		cmocka_unit_test(test_root_groups),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
