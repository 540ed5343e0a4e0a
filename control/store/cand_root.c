/*
 * The groups of a config only root may change (docs/control.md, "Who
 * may change what"): control, dataplane and evidence name the programs,
 * EAL arguments (shared objects, devices), sockets and folders cordond
 * and cordon-dp run, load, open and write as root.  The control
 * socket's group edits the policy; a change of these is root's.
 */
#include <stdbool.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

static const char *const cand_root_groups[] = { "control", "dataplane",
	"evidence", NULL };

static bool cand_same(const config_setting_t *a, const config_setting_t *b);

/* Groups: the same members by name, each the same. */
static bool
cand_same_group(const config_setting_t *a, const config_setting_t *b)
{
	for (int i = 0; i < config_setting_length(a); i++) {
		const config_setting_t *m =
		    config_setting_get_elem(a, (unsigned)i);

		if (!cand_same(m,
		        config_setting_get_member(b, config_setting_name(m))))
			return false;
	}
	return true;
}

static bool
cand_same(const config_setting_t *a, const config_setting_t *b)
{
	int t;

	if (a == NULL || b == NULL)
		return a == b;
	t = config_setting_type(a);
	if (t != config_setting_type(b) ||
	    config_setting_length(a) != config_setting_length(b))
		return false;
	switch (t) {
	case CONFIG_TYPE_GROUP:
		return cand_same_group(a, b);
	case CONFIG_TYPE_LIST:
	case CONFIG_TYPE_ARRAY:
		for (int i = 0; i < config_setting_length(a); i++)
			if (!cand_same(config_setting_get_elem(a, (unsigned)i),
			        config_setting_get_elem(b, (unsigned)i)))
				return false;
		return true;
	case CONFIG_TYPE_STRING:
		return strcmp(config_setting_get_string(a),
		           config_setting_get_string(b)) == 0;
	case CONFIG_TYPE_FLOAT:
		return config_setting_get_float(a) ==
		       config_setting_get_float(b);
	default: /* int, int64, bool */
		return config_setting_get_int64(a) ==
		       config_setting_get_int64(b);
	}
}

int
cand_root_same(const char *a, const char *b, const char **which)
{
	config_t ca, cb;
	int rc = 1;

	*which = NULL;
	config_init(&ca);
	config_init(&cb);
	if (cand_include_check(a, "a", NULL, 0) < 0 ||
	    cand_include_check(b, "b", NULL, 0) < 0 ||
	    !config_read_string(&ca, a) || !config_read_string(&cb, b))
		rc = -1;
	for (int i = 0; rc == 1 && cand_root_groups[i] != NULL; i++)
		if (!cand_same(config_lookup(&ca, cand_root_groups[i]),
		        config_lookup(&cb, cand_root_groups[i]))) {
			*which = cand_root_groups[i];
			rc = 0;
		}
	config_destroy(&ca);
	config_destroy(&cb);
	return rc;
}
