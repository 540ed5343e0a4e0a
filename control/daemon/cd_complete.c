/*
 * "complete" (args: what): the names cordonctl's bash completion offers
 * where the command table expects one (cli_param.from): the running
 * revision's rules, regions, services, dataplane ports and next hops,
 * and the kept revision numbers.  Read-only; nothing is counted or
 * logged, so a shell pressing Tab costs the daemon almost nothing.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

#define CD_COMPLETE_REVS 1000

_Static_assert(offsetof(struct conf_rule, name) == 0 &&
                   offsetof(struct conf_region, name) == 0 &&
                   offsetof(struct conf_service, name) == 0 &&
                   offsetof(struct conf_port, name) == 0 &&
                   offsetof(struct conf_nexthop, name) == 0,
    "cd_complete_names reads the name at the start of each object");

static void
cd_complete_names(json_t *a, const void *base, size_t size, unsigned n)
{
	/* Every conf object begins with its name (char[CONF_NAME_MAX]). */
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a,
		    json_string((const char *)base + (size_t)i * size));
}

static void
cd_complete_revs(struct cd *d, json_t *a)
{
	struct store_meta *m = calloc(CD_COMPLETE_REVS, sizeof(*m));
	unsigned n = 0;
	char num[24];

	if (m != NULL && store_rev_list(d->store, m, CD_COMPLETE_REVS, &n) < 0)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)m[i].rev);
		json_array_append_new(a, json_string(num));
	}
	free(m);
}

int
cd_cmd_complete(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *w = json_string_value(json_object_get(rq->args, "what"));
	const struct conf *c = d->run.conf;
	json_t *a;

	if (w == NULL)
		return cd_fail(e, "bad-request", "\"what\" must be a string");
	a = json_array();
	if (strcmp(w, "rules") == 0)
		cd_complete_names(a, c->rules, sizeof(c->rules[0]), c->nrules);
	else if (strcmp(w, "regions") == 0)
		cd_complete_names(a, c->regions, sizeof(c->regions[0]),
		    c->nregions);
	else if (strcmp(w, "services") == 0)
		cd_complete_names(a, c->services, sizeof(c->services[0]),
		    c->nservices);
	else if (strcmp(w, "ports") == 0)
		cd_complete_names(a, c->ports, sizeof(c->ports[0]), c->nports);
	else if (strcmp(w, "nexthops") == 0)
		cd_complete_names(a, c->nexthops, sizeof(c->nexthops[0]),
		    c->nnexthops);
	else if (strcmp(w, "revisions") == 0)
		cd_complete_revs(d, a);
	else {
		json_decref(a);
		return cd_fail(e, "bad-request",
		    "\"what\" is rules, regions, services, ports, nexthops or "
		    "revisions");
	}
	*data = cd_obj();
	json_object_set_new(*data, "words", a);
	return 0;
}
