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
