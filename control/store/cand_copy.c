/*
 * A deep copy of one libconfig setting: what `set rule` uses to keep a
 * rule's identity block, which the command line cannot express.  Losing
 * it would widen the rule to every session (an allow rule would then let
 * any token in).
 */
#include <libconfig.h>

#include "control/store/store_int.h"

static int
cand_copy_scalar(config_setting_t *d, const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		return config_setting_set_int(d, config_setting_get_int(s));
	case CONFIG_TYPE_INT64:
		return config_setting_set_int64(d, config_setting_get_int64(s));
	case CONFIG_TYPE_FLOAT:
		return config_setting_set_float(d, config_setting_get_float(s));
	case CONFIG_TYPE_BOOL:
		return config_setting_set_bool(d, config_setting_get_bool(s));
	case CONFIG_TYPE_STRING:
		return config_setting_set_string(d,
		    config_setting_get_string(s));
	default:
		return CONFIG_FALSE;
	}
}

int
cand_setting_copy(config_setting_t *parent, const config_setting_t *s)
{
	config_setting_t *d;
	/* Members of lists and arrays have no name. */
	const char *name =
	    config_setting_is_group(parent) ? config_setting_name(s) : NULL;

	if ((d = config_setting_add(parent, name, config_setting_type(s))) ==
	    NULL)
		return -1;
	if (!config_setting_is_aggregate(s))
		return cand_copy_scalar(d, s) == CONFIG_TRUE ? 0 : -1;
	for (int i = 0; i < config_setting_length(s); i++)
		if (cand_setting_copy(d,
		        config_setting_get_elem(s, (unsigned)i)) < 0)
			return -1;
	return 0;
}
