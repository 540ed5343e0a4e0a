/*
 * Evidence captures, cordond's side (docs/evidence.md): cordon-dp's
 * notes about its pcap files become syslog records, and `show captures`
 * lists the files (read from the folder itself, so it also shows what
 * an earlier cordon-dp wrote).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/daemon/cordond.h"
#include "core/evid/evid_pcap.h"
#include "core/stats/reasons.h"
#include "wire/dpc_proto.h"

#define CD_EVID_FILES 1024 /* listed at most */

static void
cd_evid_flow(struct cd *d, const struct dpc_msg_evidence *m)
{
	const struct dpc_wire_event *ev = &m->ev;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = ev->af == 4 ? AF_INET : AF_INET6;
	const struct policy *p = d->run.pol;
	const char *rule = "(default)";

	inet_ntop(af, ev->src, src, sizeof(src));
	inet_ntop(af, ev->dst, dst, sizeof(dst));
	if (p != NULL && ev->rule < p->nrules)
		rule = p->rule[ev->rule].name;
	cd_syslog_event(d, "evidence-flow", "evidence of a flow written",
	    "file", m->file, "rule", rule, "action",
	    cdn_action_name(ev->action), "src", src, "dst", dst, "sport",
	    CD_SL_U(ev->sport), "dport", CD_SL_U(ev->dport), "proto",
	    CD_SL_U(ev->proto), NULL);
}

/*
 * The evidence-failed alarm: raised when cordon-dp stops writing (a full
 * disk), cleared when a write works again or a new file is opened.
 */
static void
cd_evid_alarm(struct cd *d, const struct dpc_msg_evidence *m, bool on)
{
	struct cd_alarm *a = &d->alarm_evid;

	if (!on) {
		if (a->since)
			cd_log("alarm %s cleared: %s written", a->name,
			    m->file);
		a->since = 0;
		return;
	}
	if (a->since)
		return;
	snprintf(a->name, sizeof(a->name), "evidence-failed");
	snprintf(a->detail, sizeof(a->detail),
	    "evidence cannot be written (%s): records are lost",
	    strerror(m->error));
	a->since = clk_unix_s();
	cd_log("alarm evidence-failed: %s: %s", m->file, strerror(m->error));
}

/* One note from cordon-dp (dpc_evidence_handler). */
void
cd_evid_in(void *arg, const struct dpc_msg_evidence *m)
{
	struct dpc_msg_evidence c = *m;
	struct cd *d = arg;

	c.file[sizeof(c.file) - 1] = '\0';
	d->evid_heard = true;
	switch (c.kind) {
	case DPC_EVID_OPENED:
		cd_evid_alarm(d, &c, false);
		cd_syslog_event(d, "evidence-file", "evidence file opened",
		    "file", c.file, NULL);
		break;
	case DPC_EVID_FLOW:
		cd_evid_flow(d, &c);
		break;
	case DPC_EVID_FAILED:
		cd_evid_alarm(d, &c, true);
		cd_syslog_event(d, "evidence-failed",
		    "evidence cannot be written: records are lost", "file",
		    c.file, "error", strerror(c.error), NULL);
		break;
	case DPC_EVID_RESUMED:
		cd_evid_alarm(d, &c, false);
		cd_syslog_event(d, "evidence-resumed",
		    "evidence is written again", "file", c.file, NULL);
		break;
	case DPC_EVID_REMOVED:
		cd_syslog_event(d, "evidence-removed",
		    "evidence file removed (rotation)", "file", c.file, NULL);
		break;
	default:
		break;
	}
	cd_alarm_sync(d, CD_AL_EVIDENCE);
}

/* NS (unix) as RFC 3339 UTC with microseconds; "" for 0 (no packet). */
static const char *
cd_evid_time(uint64_t ns, char out[40])
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char b[24];

	out[0] = '\0';
	if (ns == 0 || gmtime_r(&s, &tm) == NULL)
		return out;
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06uZ", b, (unsigned)(ns % 1000000000u / 1000u));
	return out;
}

static json_t *
cd_evid_file(const struct evid_file *f)
{
	char a[40], b[40];

	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:b}", "file", f->name,
	    "size", (json_int_t)f->size, "packets", (json_int_t)f->packets,
	    "first", cd_evid_time(f->first_ns, a), "last",
	    cd_evid_time(f->last_ns, b), "torn", f->torn || f->bad);
}

/* show captures: {"dir": ..., "captures": [...]}, oldest first. */
json_t *
cd_show_captures(struct cd *d)
{
	struct evid_file *f = calloc(CD_EVID_FILES, sizeof(*f));
	char dir[CONF_PATH_MAX + 16];
	json_t *o = cd_obj(), *a = json_array();
	int n;

	conf_evidence_dir(d->run.conf, dir, sizeof(dir));
	n = f != NULL ? evid_scan(dir, f, CD_EVID_FILES) : -1;
	for (int i = 0; i < n; i++)
		json_array_append_new(a, cd_evid_file(&f[i]));
	free(f);
	json_object_set_new(o, "dir", json_string(dir));
	json_object_set_new(o, "captures", a);
	return o;
}
