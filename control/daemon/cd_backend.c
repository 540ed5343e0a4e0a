/* What the backends share (cd_backend.h). */
#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

int
cd_backend_same(const struct cd *d, const struct cd_running *r,
    struct cd_err *e)
{
	if (r->conf->backend != d->be->backend)
		return cd_fail(e, "dataplane",
		    "revision %lu changes the "
		    "backend: restart cordond to switch",
		    (unsigned long)r->rev);
	return 0;
}

int
cd_backend_take(struct cd *d, const struct cd_running *r, bool with_geo,
    struct cd_err *e)
{
	if (d->dp_state == CD_DP_UP)
		return d->be->activate(d, r, with_geo, e);
	if (d->be->standby == NULL)
		return 0;
	return d->be->standby(d, r, e);
}
