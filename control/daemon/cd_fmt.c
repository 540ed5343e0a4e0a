/*
 * How show, explain, SNMP and syslog write configured countries and
 * references (cd_util.h): the words of the config's own syntax.  And
 * what they report of the geo tables' sources; how a packet record
 * (syslog, cordonctl monitor) names its rule.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_util.h"
#include "core/policy/policy.h"
#include "wire/dpc_record.h"

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
	char cc[GEO_CC_STRLEN], w[CONF_NAME_MAX + 8];

	out[0] = '\0';
	if (n == 0)
		cd_word(out, len, "any");
	for (unsigned i = 0; i < n; i++) {
		snprintf(w, sizeof(w), CONF_CLASS_PREFIX "%s",
		    ref[i].kind == CONF_REF_CLASS ? c->classes[ref[i].val].name
		                                  : "");
		cd_word(out, len,
		    ref[i].kind == CONF_REF_CLASS ? w
		    : ref[i].kind == CONF_REF_ANY ? "any"
		    : ref[i].kind == CONF_REF_REGION
		        ? c->regions[ref[i].val].name
		    : ref[i].kind == CONF_REF_SPECIAL
		        ? "special"
		        : geo_cc_name(ref[i].val, cc));
	}
}

int64_t
cd_geo_epoch(const struct geo_db *db)
{
	uint64_t e = 0;

	for (unsigned i = 0; i < db->nlayers; i++)
		if (db->layer[i].build_epoch > e)
			e = db->layer[i].build_epoch;
	return (int64_t)e;
}

json_t *
cd_geo_layers(const struct geo_db *db)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < db->nlayers; i++) {
		const struct geo_layer_meta *m = &db->layer[i];

		json_array_append_new(a,
		    json_pack("{s:i, s:s, s:s, s:s, s:I, "
		              "s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}",
		        "layer", (int)i + 1, "path", m->path, "field", m->field,
		        "db_type", m->db_type, "build_epoch",
		        (json_int_t)m->build_epoch, "node_count",
		        (json_int_t)m->node_count, "ip_version",
		        (int)m->ip_version, "record_size", (int)m->record_size,
		        "v4_prefixes", (json_int_t)m->v4_prefixes,
		        "v6_prefixes", (json_int_t)m->v6_prefixes,
		        "data_records", (json_int_t)m->data_records,
		        "records_no_field", (json_int_t)m->records_no_field,
		        "records_bad_value", (json_int_t)m->records_bad_value,
		        "records_non_iso", (json_int_t)m->records_non_iso));
	}
	return a;
}

const char *
cd_rule_name(const struct policy *p, unsigned rule, char buf[16])
{
	return dpc_record_rule(p, rule, buf);
}
