/*
 * libFuzzer harness for what cordond does with a verified token's
 * claims (control/ident/idm*.c): any JSON document as the claims, judged
 * against a config whose rules use every identity condition.  The
 * claims are signed by a trusted issuer, but what that issuer puts in
 * them (actors, arrays, odd types, deep act chains) is not ours to
 * choose.  Checks: no crash, act chains within the limit, and a rule
 * without an identity block always matches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config/load/conf.h"
#include "control/ident/idm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char fuzz_conf_text[] =
    "regions = { prohibited = [ \"CN\", \"RU\" ]; };\n"
    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
    "identity = { issuers = ( { name = \"c\"; issuer = \"https://i\";\n"
    "  audience = \"a\"; jwks = \"/dev/null\"; algorithms = \"ES256\"; },\n"
    "  { name = \"p\"; issuer = \"https://p\"; audience = \"a\";\n"
    "  jwks = \"/dev/null\"; algorithms = \"EdDSA\"; } );\n"
    "  claims = { country = [ \"ctry\", \"usage_location\" ]; act_depth = 3; };\n"
    "  services = \"ssh\"; };\n"
    "rules = (\n"
    " { name = \"escort\"; services = \"ssh\"; identity = { who = \"actors\";\n"
    "   location = [ \"prohibited\", \"unknown\" ]; }; action = \"drop\"; },\n"
    " { name = \"all\"; services = \"ssh\"; identity = { who = \"all\";\n"
    "   issuer = [ \"c\", \"p\" ]; groups = \"ops\"; roles = [ \"a\", \"b\" ];\n"
    "   claims = ( { name = \"amr\"; in = [ \"mfa\", \"1\", \"true\" ]; } );\n"
    "   ip_country = \"US\"; declared_country = \"US\"; relayed = false;\n"
    "   ip_mismatch = false; }; action = \"allow\"; },\n"
    " { name = \"sub\"; services = \"ssh\"; identity = { who = \"any\";\n"
    "   sub = [ \"alice\", \"bob\" ]; }; action = \"allow\"; },\n"
    " { name = \"plain\"; action = \"drop\"; } );\n";

static struct conf *fuzz_conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_claims.XXXXXX", err[512];
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, fuzz_conf_text, sizeof(fuzz_conf_text) - 1) !=
	                  (ssize_t)(sizeof(fuzz_conf_text) - 1))
		abort();
	close(fd);
	fuzz_conf = calloc(1, sizeof(*fuzz_conf));
	if (fuzz_conf == NULL ||
	    conf_load(path, fuzz_conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	unlink(path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idm_facts f;
	struct pol_set bits;
	json_error_t je;
	json_t *claims, *steps;
	int rc;

	claims =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (claims == NULL)
		return 0;
	rc = idm_facts_build(fuzz_conf, NULL, claims, (int)(size % 2), 0, &f);
	if (rc == IDM_E_OK) {
		if (f.n == 0 || f.n > 1 + fuzz_conf->identity.act_depth)
			abort();
		idm_rule_bits(fuzz_conf, &f, &bits);
		if (!((bits.w[0] >> 3) & 1)) /* "plain" has no block */
			abort();
		steps = json_array();
		for (unsigned i = 0; i < fuzz_conf->nrules; i++)
			idm_rule_match(fuzz_conf, &fuzz_conf->rules[i], &f,
			    steps);
		json_decref(steps);
	}
	json_decref(claims);
	return 0;
}
