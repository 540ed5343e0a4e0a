/*
 * The monitoring child's messages as cordond checks them
 * (cd_proc_mon_chk.h).  The child passes no descriptors, asks for
 * metrics under an id, and reports counters of the targets it was given.
 */
#include <unistd.h>

#include "control/daemon/cd_proc_mon_chk.h"
#include "control/mon/mon_snmp.h"

static int
cd_mon_stats_ok(const struct cd_mon_view *v, const struct mon_stats *st)
{
	if (st->gen != v->gen)
		return 0;
	if (st->n != v->n)
		return -1;
	for (unsigned i = 0; i < st->n; i++)
		if (st->t[i].queued > v->queue[i] ||
		    st->t[i].taken > v->given[i])
			return -1;
	return 1;
}

static int
cd_mon_local_ok(const struct cd_mon_view *v, const struct mon_local *l)
{
	if (l->gen != v->gen)
		return 0;
	return l->target < v->n && v->type[l->target] == CONF_LOG_LOCAL ? 1
	                                                                : -1;
}

int
cd_mon_check(const struct cd_mon_view *v, const struct proc_hdr *h,
    const uint8_t *p, int passfd, struct cd_mon_msg *out)
{
	out->type = h->type;
	out->id = h->id;
	if (passfd >= 0) {
		close(passfd);
		return -1;
	}
	switch (h->type) {
	case MON_T_METRICS_GET:
		return mon_dec_metrics_get(h->id, h->len) < 0 ? -1 : 1;
	case MON_T_SNMP_GET:
	case MON_T_AGENTX_GET:
		return mon_dec_snmp_get(h->id, h->len) < 0 ? -1 : 1;
	case MON_T_STATS:
		/* with an id it answers a FLUSH, which proc_call takes: one
		 * that comes here answers nothing waiting */
		if (h->id != 0 || mon_dec_stats(p, h->len, &out->st) < 0)
			return -1;
		return cd_mon_stats_ok(v, &out->st);
	case MON_T_LOCAL_GET:
		if (h->id != 0 ||
		    mon_dec_local(p, h->len, -1, false, &out->loc) < 0)
			return -1;
		return cd_mon_local_ok(v, &out->loc);
	default:
		return -1;
	}
}
