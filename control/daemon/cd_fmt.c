/*
 * How show, explain, SNMP and syslog write configured countries and
 * references (cd_util.h): the words of the config's own syntax.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_util.h"

void
cd_word(char *out, size_t len, const char *w)
{
	size_t n = strlen(out);

	snprintf(out + n, len - n, "%s%s", n ? " " : "", w);
}

void
cd_ccset_str(const struct conf_ccset *s, char *out, size_t len)
{
	char cc[GEO_CC_STRLEN];

	out[0] = '\0';
	for (geo_cc_t i = 0; i < GEO_CC_MAX; i++)
		if (conf_ccset_has(s, i))
			cd_word(out, len, geo_cc_name(i, cc));
}

void
cd_refs_str(const struct conf *c, const struct conf_ref *ref, unsigned n,
    char *out, size_t len)
{
	char cc[GEO_CC_STRLEN];

	out[0] = '\0';
	if (n == 0)
		cd_word(out, len, "any");
	for (unsigned i = 0; i < n; i++)
		cd_word(out, len, ref[i].kind == CONF_REF_ANY ? "any" :
		    ref[i].kind == CONF_REF_REGION ? c->regions[ref[i].val].name :
		    ref[i].kind == CONF_REF_SPECIAL ? "special" :
		    geo_cc_name(ref[i].val, cc));
}
