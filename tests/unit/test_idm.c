/*
 * Identity: the identity config group and rule identity blocks (errors
 * with file:line), and the matcher's semantics (control/ident/idm*.c):
 * subject and actors, missing claims never pass, act depth, lists,
 * session-level conditions, and the compiled rule bits.
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
#include "control/ident/idm.h"
#include "config/policy/pol_compile.h"
#include "core/classify/cls.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_cls.h"

#define HEAD_ISSUER                                                             \
	"regions = { prohibited = [ \"CN\", \"RU\" ]; };\n"                     \
	"services = { ssh = { proto = \"tcp\"; ports = [ \"22\" ]; };\n"        \
	"  web = { proto = \"tcp\"; ports = [ \"80\" ]; }; };\n"                \
	"identity = { issuers = ( { name = \"corp\"; issuer = \"https://i\";\n" \
	"  audience = \"cordon\"; jwks = \"/dev/null\";\n"                      \
	"  algorithms = [ \"ES256\" ]; } );\n"
#define HEAD                                                                   \
	HEAD_ISSUER                                                            \
	"  claims = { country = [ \"ctry\", \"usage_location\" ];\n"           \
	"  act_depth = 2; }; services = [ \"ssh\" ]; };\n"

/* The issuers, then an identity group left open at a knock group. */
#define HEAD_KNOCK                                                             \
	HEAD_ISSUER                                                            \
	"  services = [ \"ssh\" ];\n"                                          \
	"  knock = { port = 47470;\n"

/* Loads TEXT; returns the error (or "") in a static buffer. */
static const char *
load(const char *text, struct conf *c)
{
	static char err[512];
	char path[] = "/tmp/test_idm.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	if (conf_load(path, c, err, sizeof(err)) == 0)
		err[0] = '\0';
	else
		memmove(err, strchr(err, ':') + 1, strlen(strchr(err, ':')));
	unlink(path);
	return err;
}

static struct conf *
conf_ok(const char *rules)
{
	struct conf *c = calloc(1, sizeof(*c));
	char text[4096];
	const char *e;

	assert_non_null(c);
	snprintf(text, sizeof(text), "%srules = ( %s );\n", HEAD, rules);
	e = load(text, c);
	if (*e)
		fail_msg("%s", e);
	return c;
}

static void
facts(const struct conf *c, const char *json, struct idm_facts *f,
    json_t **claims, int want)
{
	json_error_t je;

	*claims = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	assert_non_null(*claims);
	assert_int_equal(idm_facts_build(c, NULL, *claims, 0, 0, f), want);
}

static bool
match(const struct conf *c, unsigned rule, const char *json)
{
	struct idm_facts f;
	json_t *cl;
	bool ok;

	facts(c, json, &f, &cl, IDM_E_OK);
	ok = idm_rule_match(c, &c->rules[rule], &f, NULL);
	json_decref(cl);
	return ok;
}

static void
test_escort_actor(void **st)
{
	struct conf *c = conf_ok(
	    "{ name = \"escort\"; services = \"ssh\";\n"
	    "identity = { who = \"actors\"; location = [ \"prohibited\","
	    " \"unknown\" ]; }; action = \"drop\"; }");

	(void)st;
	assert_true(match(c, 0,
	    "{\"sub\":\"e\",\"ctry\":\"US\","
	    "\"act\":{\"sub\":\"b\",\"ctry\":\"CN\"}}"));
	/* Nested: the second actor is in RU. */
	assert_true(match(c, 0,
	    "{\"sub\":\"e\",\"ctry\":\"US\",\"act\":"
	    "{\"sub\":\"x\",\"ctry\":\"US\",\"act\":{\"sub\":\"b\","
	    "\"usage_location\":\"ru\"}}}"));
	/* An actor that says nothing about where it is: unknown. */
	assert_true(match(c, 0,
	    "{\"sub\":\"e\",\"ctry\":\"US\","
	    "\"act\":{\"sub\":\"b\"}}"));
	assert_false(match(c, 0, "{\"sub\":\"e\",\"ctry\":\"CN\"}"));
	assert_false(match(c, 0,
	    "{\"sub\":\"e\",\"ctry\":\"US\","
	    "\"act\":{\"sub\":\"b\",\"ctry\":\"DE\"}}"));
	free(c);
}

static void
test_missing_never_passes(void **st)
{
	struct conf *c = conf_ok(
	    "{ name = \"ops\"; services = \"ssh\";\n"
	    "identity = { groups = [ \"ops\" ]; location = [ \"US\" ]; };\n"
	    "action = \"allow\"; }");

	(void)st;
	assert_true(match(c, 0, "{\"groups\":[\"ops\"],\"ctry\":\"US\"}"));
	assert_false(match(c, 0, "{\"ctry\":\"US\"}"));
	assert_false(match(c, 0, "{\"groups\":[\"ops\"]}"));
	assert_false(match(c, 0, "{\"groups\":\"ops2\",\"ctry\":\"US\"}"));
	assert_false(match(c, 0, "{\"groups\":[\"ops\"],\"ctry\":\"zz9\"}"));
	free(c);
}

static void
test_who_all_and_session(void **st)
{
	struct conf *c = conf_ok(
	    "{ name = \"all\"; services = \"ssh\";\n"
	    "identity = { who = \"all\"; location = \"US\"; };"
	    " action = \"allow\"; },\n"
	    "{ name = \"relay\"; services = \"ssh\"; identity = {"
	    " relayed = true; }; action = \"drop\"; },\n"
	    "{ name = \"mismatch\"; services = \"ssh\"; identity = {"
	    " ip_mismatch = true; }; action = \"drop\"; }");

	(void)st;
	assert_true(match(c, 0, "{\"ctry\":\"US\",\"act\":{\"ctry\":\"US\"}}"));
	assert_false(
	    match(c, 0, "{\"ctry\":\"US\",\"act\":{\"ctry\":\"CN\"}}"));
	assert_true(match(c, 1, "{\"act\":{\"sub\":\"b\"}}"));
	assert_false(match(c, 1, "{\"sub\":\"a\"}"));
	/* No ipaddr claim: a mismatch, never an agreement. */
	assert_true(match(c, 2, "{\"sub\":\"a\"}"));
	free(c);
}

static void
test_act_depth(void **st)
{
	struct conf *c = conf_ok("{ name = \"r\"; action = \"allow\"; }");
	struct idm_facts f;
	json_t *cl;

	(void)st;
	facts(c, "{\"act\":{\"act\":{\"sub\":\"x\"}}}", &f, &cl, IDM_E_OK);
	assert_int_equal(f.n, 3);
	json_decref(cl);
	facts(c, "{\"act\":{\"act\":{\"act\":{}}}}", &f, &cl, IDM_E_ACT_DEPTH);
	json_decref(cl);
	facts(c, "{\"act\":\"bob\"}", &f, &cl, IDM_E_ACT_FORM);
	json_decref(cl);
	free(c);
}

static void
test_rule_bits(void **st)
{
	struct conf *c = conf_ok(
	    "{ name = \"id\"; services = \"ssh\";\n"
	    "identity = { sub = [ \"alice\" ]; }; action = \"allow\"; },\n"
	    "{ name = \"plain\"; action = \"drop\"; }");
	struct policy *p = calloc(1, sizeof(*p));
	struct idm_facts f;
	struct pol_set bits;
	json_t *cl;
	char err[256];

	(void)st;
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	assert_int_equal(p->ident_svc, 1);
	assert_int_equal(p->noident.w[0], 2); /* only "plain" */
	facts(c, "{\"sub\":\"alice\"}", &f, &cl, IDM_E_OK);
	idm_rule_bits(c, &f, &bits);
	assert_int_equal(bits.w[0], 3);
	json_decref(cl);
	facts(c, "{\"sub\":\"bob\"}", &f, &cl, IDM_E_OK);
	idm_rule_bits(c, &f, &bits);
	assert_int_equal(bits.w[0], 2);
	json_decref(cl);
	free(p);
	free(c);
}

/*
 * Issue 10 item 1: an actor declaring a code ISO 3166-1 does not assign
 * (user-assigned XX, QM, ZZ, AA; reserved UK, EU) or a sub-region name is
 * in no country: unknown, so the escort rule on [prohibited, unknown]
 * fires.  A real country next to it still counts.
 */
static void
test_made_up_countries(void **st)
{
	static const char *const fake[] = { "XX", "UK", "EU", "QM", "ZZ", "AA",
		"xx", "uk", "private", "special", "YU" };
	struct conf *c = conf_ok(
	    "{ name = \"escort\"; services = \"ssh\";\n"
	    "identity = { who = \"actors\"; location = [ \"prohibited\","
	    " \"unknown\" ]; }; action = \"drop\"; },\n"
	    "{ name = \"gb\"; services = \"ssh\";\n"
	    "identity = { location = [ \"GB\" ]; }; action = \"allow\"; }");
	char json[256];

	(void)st;
	for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++) {
		snprintf(json, sizeof(json),
		    "{\"sub\":\"e\",\"ctry\":\"US\","
		    "\"act\":{\"sub\":\"b\",\"ctry\":\"%s\"}}",
		    fake[i]);
		if (!match(c, 0, json))
			fail_msg("actor in \"%s\" not unknown", fake[i]);
		/* "UK" is not GB. */
		snprintf(json, sizeof(json), "{\"ctry\":\"%s\"}", fake[i]);
		assert_false(match(c, 1, json));
	}
	assert_false(match(c, 0,
	    "{\"sub\":\"e\",\"ctry\":\"US\","
	    "\"act\":{\"sub\":\"b\",\"ctry\":\"XK\"}}"));
	assert_true(match(c, 1, "{\"ctry\":\"gb\"}"));
	free(c);
}

/*
 * An actor's ipaddr claim that does not parse (a forwarded-for list, a
 * port, a number, an array) is an unknown place: a declared allowed
 * country beside it must not make the escort rule miss the actor.
 */
static void
test_unparsable_ipaddr(void **st)
{
	static const char *const bad[] = { "\"198.51.100.7, 10.0.0.1\"",
		"\"198.51.100.7:443\"", "\"198.051.100.7\"", "3325256711",
		"[\"198.51.100.7\"]", "\"fe80::1%eth0\"", "\"\"" };
	struct conf *c = conf_ok(
	    "{ name = \"escort\"; services = \"ssh\";\n"
	    "identity = { who = \"actors\"; location = [ \"prohibited\","
	    " \"unknown\" ]; }; action = \"drop\"; },\n"
	    "{ name = \"us\"; services = \"ssh\";\n"
	    "identity = { who = \"actors\"; location = [ \"US\" ]; };"
	    " action = \"allow\"; }");
	char json[256];

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json),
		    "{\"sub\":\"e\",\"act\":"
		    "{\"sub\":\"b\",\"ctry\":\"US\",\"ipaddr\":%s}}",
		    bad[i]);
		if (!match(c, 0, json))
			fail_msg("ipaddr %s with ctry US not unknown", bad[i]);
		/* The declared country still counts where it is named. */
		assert_true(match(c, 1, json));
	}
	/* No ipaddr at all: the declared country alone places the actor. */
	assert_false(match(c, 0,
	    "{\"sub\":\"e\",\"act\":{\"sub\":\"b\","
	    "\"ctry\":\"US\"}}"));
	assert_false(match(c, 0,
	    "{\"sub\":\"e\",\"act\":{\"sub\":\"b\","
	    "\"ctry\":\"US\",\"ipaddr\":null}}"));
	free(c);
}

/* Nine declared countries, the prohibited one last: still found. */
static void
test_long_declared_list(void **st)
{
	struct conf *c = conf_ok(
	    "{ name = \"escort\"; services = \"ssh\";\n"
	    "identity = { who = \"any\"; declared_country = \"prohibited\";"
	    " }; action = \"drop\"; }");

	(void)st;
	assert_true(match(c, 0,
	    "{\"ctry\":[\"US\",\"DE\",\"FR\",\"GB\","
	    "\"NL\",\"BE\",\"DK\",\"NO\",\"CN\"]}"));
	free(c);
}

/*
 * The fast path's identity step (cls.c) with no session table: a port
 * an identity service shares with an earlier plain service still needs
 * a session, and so does a TCP fragment (its port is unknown).
 */
static void
test_cls_gates(void **st)
{
	static const char text[] =
	    "services = { low = { proto = \"tcp\"; ports = \"1-1024\"; };\n"
	    "  ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\";\n"
	    "  algorithms = \"ES256\"; } ); services = \"ssh\"; };\n"
	    "default = { action = \"allow\"; };\n";
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct geo_tables *g = geo_tables_create();
	struct pkt_meta m;
	struct cls_verdict v;
	struct cls_env env = { p, g, NULL, 1000 };
	char err[256];

	(void)st;
	assert_string_equal(load(text, c), "");
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	memset(&m, 0, sizeof(m));
	m.af = 4;
	m.l4proto = 6;
	m.has_l4 = 1;
	m.src4 = 0xc000020a;
	m.dport = 22;
	cls_classify(&env, &m, POL_DIR_IN, &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	m.dport = 80; /* "low", not an identity service */
	cls_classify(&env, &m, POL_DIR_IN, &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	/* A first fragment meets the gate as the packet it starts. */
	m.frag = PKT_FRAG_FIRST;
	m.dport = 22;
	cls_classify(&env, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	/* A later one follows it (core/frag); alone it is refused. */
	m.frag = PKT_FRAG_LATER;
	m.has_l4 = 0;
	cls_classify(&env, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	m.l4proto = 17; /* no identity service uses UDP */
	cls_classify(&env, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	geo_tables_free(g);
	free(p);
	free(c);
}

/*
 * The gate judges inbound flows only (issue 10, item 10): an inside
 * host's ssh out is judged by the rules, not refused for want of a
 * session.  identity.direction = "any" puts outbound flows through too.
 */
static void
test_cls_gate_direction(void **st)
{
	static const char text[] =
	    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\";\n"
	    "  algorithms = \"ES256\"; } ); services = \"ssh\"; %s };\n"
	    "default = { action = \"allow\"; };\n";
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct cls_verdict v;
	char buf[1024], err[256];

	(void)st;
	snprintf(buf, sizeof(buf), text, "");
	assert_string_equal(load(buf, c), "");
	assert_false(c->identity.gate_out);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	v = unit_cls_probe(p, 6, 40000, 22, POL_DIR_IN, 0);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	v = unit_cls_probe(p, 6, 40000, 22, POL_DIR_OUT, 0);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(v.reason, CDN_R_NONE);
	/* Later fragments follow their first one (core/frag), in either
	 * direction; the classifier alone refuses them. */
	v = unit_cls_probe(p, 6, 40000, 0, POL_DIR_OUT, 1);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	v = unit_cls_probe(p, 6, 40000, 0, POL_DIR_IN, 1);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);

	snprintf(buf, sizeof(buf), text, "direction = \"any\";");
	assert_string_equal(load(buf, c), "");
	assert_true(c->identity.gate_out);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	v = unit_cls_probe(p, 6, 40000, 22, POL_DIR_OUT, 0);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	v = unit_cls_probe(p, 6, 40000, 0, POL_DIR_OUT, 1);
	assert_int_equal(v.reason, CDN_R_FRAG_NO_FIRST);
	free(p);
	free(c);
}

/* identity.knock.nat: none by default; pairings as written. */
static void
test_knock_nat_config(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));
	const struct knock_nat *n;

	(void)st;
	assert_string_equal(load(HEAD_KNOCK "}; };", c), "");
	assert_int_equal(c->identity.nknock_nat, 0);
	assert_string_equal(
	    load(HEAD_KNOCK
	        "nat = ( { inside = "
	        "\"10.0.0.0/8\"; outside = \"198.51.100.7\"; },\n"
	        "{ inside = \"fd00::/8\"; outside = \"2001:db8::/48\"; } ); };"
	        " };",
	        c),
	    "");
	assert_int_equal(c->identity.nknock_nat, 2);
	n = &c->identity.knock_nat[0];
	assert_int_equal(n->inside.af, 4);
	assert_int_equal(n->inside.plen, 8);
	assert_int_equal(n->inside.addr[0], 10);
	assert_int_equal(n->outside.plen, 32);
	assert_int_equal(n->outside.addr[3], 7);
	n = &c->identity.knock_nat[1];
	assert_int_equal(n->inside.af, 6);
	assert_int_equal(n->outside.plen, 48);
	free(c);
}

/* identity.knock.proof: on unless the configuration turns it off (a
 * bearer knock can be re-wrapped by whoever captures it). */
static void
test_knock_proof_default(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));

	(void)st;
	assert_string_equal(load(HEAD_KNOCK "}; };", c), "");
	assert_true(c->identity.knock_pop);
	memset(c, 0, sizeof(*c));
	assert_string_equal(load(HEAD_KNOCK "proof = false; }; };", c), "");
	assert_false(c->identity.knock_pop);
	free(c);
}

static void
test_config_errors(void **st)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ HEAD "rules = ( { name = \"r\"; services = \"web\"; identity"
		       " = { sub = \"a\"; }; action = \"allow\"; } );",
		    "9: rule \"r\": an identity rule may only name services "
		    "listed in identity.services" },
		{ HEAD "rules = ( { name = \"r\"; services = \"ssh\"; identity"
		       " = { issuer = \"nope\"; }; action = \"allow\"; } );",
		    "9: unknown issuer \"nope\"" },
		{ HEAD "rules = ( { name = \"r\"; services = \"ssh\"; identity"
		       " = { who = \"everyone\"; }; action = \"allow\"; } );",
		    "9: who must be subject, actors, any or all, not "
		    "\"everyone\"" },
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = [ \"HS256\" ]; } ); services = \"ssh\"; };",
		    "4: unsupported algorithm \"HS256\" (RS256, PS256, ES256, "
		    "ES384 or EdDSA; HS* and none are never accepted)" },
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } ); services = \"ssh\";\n"
		  "unidentified = { action = \"allow\"; }; };",
		    "5: unidentified action must be drop, reject or reroute, "
		    "not \"allow\"" },
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"
		  "dns = { proto = \"udp\"; ports = \"53\"; }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } ); services = \"ssh\";\n"
		  "knock = { port = 53; }; };",
		    "6: knock: port 53 is service \"dns\"'s" },
		{ "rules = ( { name = \"r\"; identity = { sub = \"a\"; };"
		  " action = \"allow\"; } );",
		    "1: rule \"r\": identity block without an identity group" },
		/* Item 11: one port, two identity services. */
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"
		  "bastion = { proto = \"tcp\"; ports = [ \"22\", \"2222\" ];"
		  " }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } );\n"
		  "services = [ \"ssh\",\n \"bastion\" ]; };",
		    "7: identity: services \"ssh\" and \"bastion\" share tcp "
		    "port 22 (a session opens its own service's ports only: "
		    "give each port to one identity service)" },
		/*
		 * One port number, two identity services, two protocols: the
		 * kernel's sessions set is (source, port), so an ssh session
		 * would open udp 22 too, which cordon-dp asks mosh's for.
		 */
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"
		  "mosh = { proto = \"udp\"; ports = [ \"22\", \"60001\" ];"
		  " }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } );\n"
		  "services = [ \"ssh\",\n \"mosh\" ]; };",
		    "7: identity: services \"ssh\" and \"mosh\" share port "
		    "22 (tcp and udp) (a session opens its own service's "
		    "ports only: give each port to one identity service)" },
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\";\n"
		  "sports = \"22\"; }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } ); services = \"ssh\"; };",
		    "5: identity: service \"ssh\" has sports: a session is "
		    "looked up by destination port only" },
		{ "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
		  "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
		  "audience = \"a\"; jwks = \"/dev/null\";\n"
		  "algorithms = \"ES256\"; } ); services = \"ssh\";\n"
		  "direction = \"out\"; };",
		    "5: identity: direction must be in or any, not \"out\"" },
		{ HEAD "rules = ( { name = \"r\"; services = \"ssh\"; "
		       "direction = \"out\";\n identity = { sub = \"a\"; }; "
		       "action = \"drop\"; } );",
		    "10: rule \"r\": an identity rule on direction out needs "
		    "identity.direction = \"any\" (only inbound flows carry a "
		    "session)" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.0/8\"; } ); }; };",
		    "9: missing \"outside\"" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.1/8\";\n"
		             "outside = \"198.51.100.7\"; } ); }; };",
		    "9: knock nat: inside prefix \"10.0.0.1/8\" has host bits "
		    "set" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.0/8\";\n"
		             "outside = \"nat-box\"; } ); }; };",
		    "10: knock nat: bad outside prefix \"nat-box\"" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.0/8\";\n"
		             "outside = \"::/0\"; } ); }; };",
		    "10: knock nat: outside prefix /0 is too broad for a NAT's "
		    "addresses (at least /16 for IPv4, /32 for IPv6)" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.0/8\";\n"
		             "outside = \"128.0.0.0/1\"; } ); }; };",
		    "10: knock nat: outside prefix /1 is too broad for a NAT's "
		    "addresses (at least /16 for IPv4, /32 for IPv6)" },
		{ HEAD_KNOCK "nat = ( { inside = \"10.0.0.0/8\";\n"
		             "outside = \"198.51.100.7\"; via = 1; } ); }; };",
		    "10: unknown key \"via\" (expected one of: inside, outside)" },
	};
	struct conf *c = calloc(1, sizeof(*c));

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *e = load(bad[i].text, c);

		if (strcmp(e, bad[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, e);
	}
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escort_actor),
		cmocka_unit_test(test_missing_never_passes),
		cmocka_unit_test(test_who_all_and_session),
		cmocka_unit_test(test_act_depth),
		cmocka_unit_test(test_rule_bits),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_knock_nat_config),
		cmocka_unit_test(test_knock_proof_default),
		cmocka_unit_test(test_long_declared_list),
		cmocka_unit_test(test_made_up_countries),
		cmocka_unit_test(test_unparsable_ipaddr),
		cmocka_unit_test(test_cls_gates),
		cmocka_unit_test(test_cls_gate_direction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
