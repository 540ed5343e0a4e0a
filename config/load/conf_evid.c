/*
 * The `evidence` group and a rule's `evidence` switch (docs/config.md,
 * Evidence): how much cordon-dp keeps of the flows such rules deny or
 * reroute, and where.
 */
#include <stdio.h>
#include <string.h>

#include "config/load/conf_int.h"
#include "core/evid/evid.h"
#include "core/stats/reasons.h"

static const char *const conf_evid_keys[] = { "packets", "snaplen", "flows",
	"flow_idle", "file_size", "files", "rotate_age", "max_age", "dir",
	NULL };

void
conf_evidence_defaults(struct conf_evidence *e)
{
	memset(e, 0, sizeof(*e));
	e->packets = EVID_PACKETS_DEF;
	e->snaplen = EVID_SNAP_DEF;
	e->flows = EVID_FLOWS_DEF;
	e->flow_idle = EVID_IDLE_DEF;
	e->file_size = EVID_FILE_KB_DEF;
	e->files = EVID_FILES_DEF;
	e->rotate_age = EVID_ROTATE_DEF;
	e->max_age = EVID_MAX_AGE_DEF;
}

static int
conf_evid_dir(struct conf_ctx *x, const config_setting_t *s,
    struct conf_evidence *e)
{
	int rc = conf_str_get(x, s, "dir", false, e->dir, sizeof(e->dir));

	if (rc == 1 && e->dir[0] != '/')
		return conf_err(x, config_setting_get_member(s, "dir"),
		    "evidence.dir must be an absolute path");
	return rc < 0 ? -1 : 0;
}

int
conf_evidence_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_evidence *e = &x->c->evidence;

	if (conf_group_check(x, s, conf_evid_keys) < 0 ||
	    conf_uint_get(x, s, "packets", 1, EVID_PACKETS_MAX, &e->packets) <
	        0 ||
	    conf_uint_get(x, s, "snaplen", EVID_SNAP_MIN, EVID_SNAP_MAX,
	        &e->snaplen) < 0 ||
	    conf_uint_get(x, s, "flows", EVID_FLOWS_MIN, EVID_FLOWS_MAX,
	        &e->flows) < 0 ||
	    conf_uint_get(x, s, "flow_idle", 1, 86400, &e->flow_idle) < 0 ||
	    conf_uint_get(x, s, "file_size", 64, 4194304, &e->file_size) < 0 ||
	    conf_uint_get(x, s, "files", 1, 1000, &e->files) < 0 ||
	    conf_uint_get(x, s, "rotate_age", 0, 31 * 86400, &e->rotate_age) <
	        0 ||
	    conf_uint_get(x, s, "max_age", 0, 3660 * 86400, &e->max_age) < 0 ||
	    conf_evid_dir(x, s, e) < 0)
		return -1;
	e->line = (int)config_setting_source_line(s);
	return 0;
}

/* Evidence is of what a rule refuses or reroutes: never of an allow. */
int
conf_evidence_check(struct conf_ctx *x, const config_setting_t *rule,
    const struct conf_rule *r)
{
	if (r->evidence && r->action == CDN_ACT_ALLOW)
		return conf_err(x, config_setting_get_member(rule, "evidence"),
		    "rule \"%s\": evidence is kept of denied or rerouted "
		    "flows, not of action allow",
		    r->name);
	return 0;
}

void
conf_evidence_dir(const struct conf *c, char *out, size_t len)
{
	if (c->evidence.dir[0])
		snprintf(out, len, "%s", c->evidence.dir);
	else
		snprintf(out, len, "%s/evidence", c->control.state_dir);
}

static bool
conf_evidence_used(const struct conf *c)
{
	for (unsigned i = 0; i < c->nrules; i++)
		if (c->rules[i].evidence)
			return true;
	return c->evidence.line != 0;
}

void
conf_evidence_print(const struct conf *c, FILE *f)
{
	const struct conf_evidence *e = &c->evidence;
	char dir[CONF_PATH_MAX + 16];

	if (!conf_evidence_used(c))
		return;
	conf_evidence_dir(c, dir, sizeof(dir));
	fprintf(f,
	    "evidence: %u packets of %u bytes per flow, %u flows idle %u s; "
	    "files of %u KiB, %u kept, rotated after %u s, kept %u s, in %s\n",
	    e->packets, e->snaplen, e->flows, e->flow_idle, e->file_size,
	    e->files, e->rotate_age, e->max_age, dir);
}
