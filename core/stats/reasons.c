#include <string.h>

#include "core/stats/reasons.h"

static const char *const cdn_action_names[] = {
#define X(id, name) [CDN_ACT_##id] = name,
	CDN_ACTIONS(X)
#undef X
};

static const char *const cdn_reason_names[] = {
#define X(id, name) [CDN_R_##id] = name,
	CDN_REASONS(X)
#undef X
};

const char *
cdn_action_name(unsigned a)
{
	return a < CDN_ACT_MAX ? cdn_action_names[a] : "?";
}

const char *
cdn_reason_name(unsigned r)
{
	return r < CDN_R_MAX ? cdn_reason_names[r] : "?";
}

int
cdn_action_parse(const char *name)
{
	for (unsigned a = 0; a < CDN_ACT_MAX; a++)
		if (strcmp(name, cdn_action_names[a]) == 0)
			return (int)a;
	return -1;
}
