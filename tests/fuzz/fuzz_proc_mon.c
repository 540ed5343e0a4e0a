/*
 * libFuzzer harness for cordond's receiver of the monitoring child
 * (control/daemon/cd_proc_mon_chk.c): the input is a view of what
 * cordond sent the child (targets' generation, count, types, queues,
 * records given) and then one message as proc_recv would deliver it (a
 * struct proc_hdr whose LEN is the rest).  The payload is copied to a
 * buffer of exactly its size.  What the check accepts must hold against
 * the view: counters of the current targets only, no queue longer than
 * configured, no more records taken than given, a local socket only for
 * a local target.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_proc_mon_chk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_holds(const struct cd_mon_view *v, const struct cd_mon_msg *m)
{
	if (m->type == MON_T_METRICS_GET) {
		if (m->id == 0)
			abort();
	} else if (m->type == MON_T_STATS) {
		if (m->id != 0 || m->st.gen != v->gen || m->st.n != v->n)
			abort();
		for (unsigned i = 0; i < m->st.n; i++)
			if (m->st.t[i].queued > v->queue[i] ||
			    m->st.t[i].taken > v->given[i] ||
			    m->st.t[i].state >= MON_TS_END ||
			    memchr(m->st.t[i].error, 0,
			        sizeof(m->st.t[i].error)) == NULL)
				abort();
	} else if (m->type == MON_T_LOCAL_GET) {
		if (m->loc.gen != v->gen || m->loc.target >= v->n ||
		    v->type[m->loc.target] != CONF_LOG_LOCAL || m->loc.err)
			abort();
	} else {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_mon_view v;
	struct cd_mon_msg m;
	struct proc_hdr h;
	uint8_t *p;
	int rc;

	if (size < sizeof(v) + sizeof(h))
		return 0;
	memcpy(&v, data, sizeof(v));
	if (v.n > CONF_LOG_TARGET_MAX)
		v.n = CONF_LOG_TARGET_MAX;
	memcpy(&h, data + sizeof(v), sizeof(h));
	data += sizeof(v) + sizeof(h);
	size -= sizeof(v) + sizeof(h);
	h.len = (uint32_t)size;
	if (proc_hdr_check(&h, size) < 0)
		return 0;
	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(p, data, size);
	rc = cd_mon_check(&v, &h, p, -1, &m);
	if (rc > 0)
		fuzz_holds(&v, &m);
	free(p);
	return 0;
}
