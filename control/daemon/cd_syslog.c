/*
 * cordond's syslog: records built from cordon-dp's log events and from
 * the daemon's own events, formatted once (core/slog/sl_fmt.c) and handed
 * to the monitoring child for every target (cd_proc_mon_sl.c), which
 * holds the targets' sockets (control/mon/mon_sl_net.c).
 *
 * Packet events are aggregated per (source address, rule): the first
 * event of a pair is reported at once (repeat_count = its packets), the
 * ones that follow within control.logging.window seconds are reported
 * together when the window ends (repeat_count, first, last), so the
 * repeat_counts of a pair add up to the events cordon-dp logged.  Pairs
 * beyond SL_AGG_MAX are reported one by one (counted as overflow).
 * Packet records pass a token bucket of control.logging.rate per second;
 * what it refuses is counted (records and the events they held).
 * Daemon events are never aggregated nor rate-limited.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_syslog.h"
#include "control/daemon/cd_syslog_int.h"
#include "control/daemon/cd_backend.h"
#include "control/proc/proc.h"
#include "control/daemon/cordond.h"
#include "core/classify/cls_fmt.h"
#include "core/stats/reasons.h"
#include "core/util/clock.h"
#include "wire/dpc_record.h"

#define SL_PARAMS_MAX 32

const char *
cd_syslog_u(char buf[24], uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

/* Formats once, queues on every target. */
static void
sl_emit(struct cd *d, unsigned sev, const char *msgid,
    const struct sl_param *sd, unsigned nsd, const char *msg)
{
	struct cd_syslog *s = d->slog;
	struct sl_msg m = {
		.facility = s->cf->facility,
		.severity = sev,
		.unix_us = (int64_t)(clk_unix_ns() / 1000),
		.host = s->host,
		.app = "cordond",
		.procid = s->procid,
		.msgid = msgid,
		.sd = sd,
		.nsd = nsd,
		.msg = msg,
	};
	char buf[SL_MSG_MAX];
	long n = sl_format(&m, buf, sizeof(buf));

	if (n < 0)
		return;
	s->records++;
	cd_slt_push(d, buf, (size_t)n);
}

static void
sl_event_v(struct cd *d, unsigned sev, const char *msgid, const char *msg,
    va_list ap)
{
	struct sl_param sd[SL_PARAMS_MAX];
	unsigned n = 0;
	const char *k;

	if (d->slog == NULL)
		return;
	while (n < SL_PARAMS_MAX && (k = va_arg(ap, const char *)) != NULL) {
		sd[n].name = k;
		sd[n++].value = va_arg(ap, const char *);
	}
	sl_emit(d, sev, msgid, sd, n, msg);
}

void
cd_syslog_event(struct cd *d, const char *msgid, const char *msg, ...)
{
	static const struct {
		const char *id;
		unsigned sev;
	} sevs[] = {
		{ "commit-refused", SL_WARNING },
		{ "geo-refused", SL_ERR },
		{ "geo-stale", SL_WARNING },
		{ "dataplane-down", SL_ERR },
		{ "dataplane-restarted", SL_WARNING },
		{ "token-refused", SL_WARNING },
		{ "session-table-nearly-full", SL_WARNING },
		{ "session-journal-failed", SL_ERR },
		{ "geo-static", SL_ERR },
		{ "evidence-failed", SL_ERR },
		{ "config-differs", SL_WARNING },
		{ "process-restarted", SL_WARNING },
	};
	unsigned sev = SL_NOTICE;
	va_list ap;

	for (size_t i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++)
		if (strcmp(sevs[i].id, msgid) == 0)
			sev = sevs[i].sev;
	va_start(ap, msg);
	sl_event_v(d, sev, msgid, msg, ap);
	va_end(ap);
}

void
cd_syslog_event_sev(struct cd *d, unsigned sev, const char *msgid,
    const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	sl_event_v(d, sev, msgid, msg, ap);
	va_end(ap);
}

/* Packet records -------------------------------------------------------- */

/*
 * One packet record (wire/dpc_record.c builds its fields, as cordon-dp's
 * fallback does), or a line in cordond's log without targets.
 */
static void
sl_record(struct cd *d, const struct dpc_wire_event *ev, uint64_t count,
    int64_t first_us, int64_t last_us)
{
	struct cd_syslog *s = d->slog;
	struct dpc_record r;
	char port[DPC_NAME_MAX + 1];
	bool has_port = ev->port < d->dpst.nports && ev->port < DPC_PORT_MAX;

	if (has_port)
		snprintf(port, sizeof(port), "%.*s", DPC_NAME_MAX - 1,
		    d->dpst.port[ev->port]);
	dpc_record_fill(&r, ev, d->run.pol, has_port ? port : NULL, count,
	    first_us, last_us);
	if (s->ntargets == 0) {
		cd_log("%s", r.msg);
		s->records++;
		return;
	}
	sl_emit(d, r.severity, r.msgid, r.sd, r.nsd, r.msg);
}

/* The rate limit (core/slog/sl_rate.h): what it refuses is counted. */
static bool
sl_rate_ok(struct cd_syslog *s, uint64_t events)
{
	if (sl_bucket_take(&s->bucket_rate, clk_mono_ms()))
		return true;
	s->rate_records++;
	s->rate_events += events;
	return false;
}

static void
sl_report(struct cd *d, const struct dpc_wire_event *ev, uint64_t count,
    int64_t first_us, int64_t last_us)
{
	if (sl_rate_ok(d->slog, count))
		sl_record(d, ev, count, first_us, last_us);
}

/* Aggregation table ----------------------------------------------------- */

static uint32_t
sl_hash(const struct dpc_wire_event *ev)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < 16; i++)
		h = (h ^ ev->src[i]) * 16777619u;
	h = (h ^ ev->af) * 16777619u;
	h = (h ^ ev->rule) * 16777619u;
	return h % SL_AGG_MAX;
}

static bool
sl_same(const struct dpc_wire_event *a, const struct dpc_wire_event *b)
{
	return a->af == b->af && a->rule == b->rule &&
	       memcmp(a->src, b->src, 16) == 0 &&
	       a->origin_af == b->origin_af &&
	       memcmp(a->origin, b->origin, 16) == 0;
}

static struct sl_agg *
sl_agg_find(struct cd_syslog *s, const struct dpc_wire_event *ev)
{
	for (int32_t i = s->bucket[sl_hash(ev)]; i >= 0; i = s->agg[i].next)
		if (sl_same(&s->agg[i].ev, ev))
			return &s->agg[i];
	return NULL;
}

static bool
sl_agg_add(struct cd_syslog *s, const struct dpc_wire_event *ev)
{
	uint32_t h = sl_hash(ev);
	int32_t i = s->free_head;
	struct sl_agg *a;

	if (i < 0)
		return false;
	a = &s->agg[i];
	s->free_head = a->next;
	memset(a, 0, sizeof(*a));
	a->ev = *ev;
	a->end_ms = clk_mono_ms() + (int64_t)s->cf->window * 1000;
	a->next = s->bucket[h];
	s->bucket[h] = i;
	s->nagg++;
	if (a->end_ms < s->agg_next_ms)
		s->agg_next_ms = a->end_ms;
	return true;
}

static void
sl_event(void *arg, const struct dpc_wire_event *ev)
{
	struct cd *d = arg;
	struct cd_syslog *s = d->slog;
	int64_t now = (int64_t)(ev->unix_ns / 1000);
	struct sl_agg *a;

	cd_mon_event(d, ev); /* cordonctl monitor: every event, at once */
	if (s == NULL)
		return;
	s->events += ev->count;
	if (s->cf->window == 0) {
		sl_report(d, ev, ev->count, now, now);
		return;
	}
	if ((a = sl_agg_find(s, ev)) != NULL) {
		if (a->held == 0)
			a->first_us = now;
		a->held += ev->count;
		a->last_us = now;
		return;
	}
	sl_report(d, ev, ev->count, now, now);
	if (!sl_agg_add(s, ev))
		s->overflow++;
}

/* Reports and frees the pairs whose window ended (all with ALL). */
static void
sl_agg_expire(struct cd *d, bool all)
{
	struct cd_syslog *s = d->slog;
	int64_t now = clk_mono_ms();

	if (!all && now < s->agg_next_ms)
		return;
	s->agg_next_ms = INT64_MAX;
	for (unsigned b = 0; b < SL_AGG_MAX && s->nagg > 0; b++) {
		for (int32_t *pi = &s->bucket[b]; *pi >= 0;) {
			struct sl_agg *a = &s->agg[*pi];
			int32_t i = *pi;

			if (!all && a->end_ms > now) {
				if (a->end_ms < s->agg_next_ms)
					s->agg_next_ms = a->end_ms;
				pi = &a->next;
				continue;
			}
			if (a->held > 0)
				sl_report(d, &a->ev, a->held, a->first_us,
				    a->last_us);
			*pi = a->next;
			a->next = s->free_head;
			s->free_head = i;
			s->nagg--;
		}
	}
}

int
cd_syslog_dp_read(struct cd *d)
{
	return dpc_events_read(d->dpc, sl_event, d);
}

void
cd_syslog_packet(struct cd *d, const struct dpc_wire_event *ev)
{
	sl_event(d, ev);
}

/* cordon-dp's fallback -------------------------------------------------- */

static uint32_t
sl_wire_type(enum conf_log_type t)
{
	switch (t) {
	case CONF_LOG_LOCAL:
		return DPC_LOG_LOCAL;
	case CONF_LOG_UDP:
		return DPC_LOG_UDP;
	case CONF_LOG_TCP:
		return DPC_LOG_TCP;
	default:
		return DPC_LOG_TLS;
	}
}

void
cd_syslog_dp_handover(struct cd *d)
{
	const struct conf_logging *l = &d->ctl.logging;
	struct dpc_msg_syslog m;
	char msg[256];

	memset(&m, 0, sizeof(m));
	m.version = DPC_PROTO_VERSION;
	m.facility = l->facility;
	m.rate = l->rate;
	for (unsigned i = 0; i < l->ntargets && i < DPC_SYSLOG_TARGETS; i++) {
		m.target[i].type = sl_wire_type(l->target[i].type);
		m.target[i].port = l->target[i].port;
		snprintf(m.target[i].address, sizeof(m.target[i].address), "%s",
		    l->target[i].address);
		m.ntargets++;
	}
	if (dpc_syslog(d->dpc, &m, 5000, msg, sizeof(msg)) < 0)
		cd_log("cordon-dp refused the syslog targets (no fallback "
		       "while cordond is away): %s",
		    msg);
	else
		cd_debug("cordon-dp: %s", msg);
}

/* Setup, poll, timers --------------------------------------------------- */

int
cd_syslog_open(struct cd *d)
{
	struct cd_syslog *s = calloc(1, sizeof(*s));
	char err[256];
	size_t files = 0;

	if (s == NULL ||
	    (s->agg = calloc(SL_AGG_MAX, sizeof(*s->agg))) == NULL ||
	    (s->bucket = calloc(SL_AGG_MAX, sizeof(int32_t))) == NULL)
		goto fail;
	s->cf = &d->ctl.logging;
	if (gethostname(s->host, sizeof(s->host) - 1) != 0)
		s->host[0] = '\0';
	snprintf(s->procid, sizeof(s->procid), "%d", (int)getpid());
	for (unsigned i = 0; i < SL_AGG_MAX; i++) {
		s->bucket[i] = -1;
		s->agg[i].next = i + 1 < SL_AGG_MAX ? (int32_t)i + 1 : -1;
	}
	s->agg_next_ms = INT64_MAX;
	sl_bucket_init(&s->bucket_rate, s->cf->rate, clk_mono_ms());
	d->slog = s;
	for (unsigned i = 0; i < s->cf->ntargets; i++, s->ntargets++) {
		if (cd_slt_init(&s->t[i], &s->cf->target[i], err, sizeof(err)) <
		    0) {
			cd_log("control.logging target %u (line %d): %s", i + 1,
			    s->cf->target[i].line, err);
			cd_slt_free(&s->t[i]);
			cd_syslog_close(d);
			return -1;
		}
		files += s->t[i].blen[0] + s->t[i].blen[1] + s->t[i].blen[2];
	}
	/* the monitoring child gets them all in one message */
	if (files > PROC_MSG_MAX - sizeof(struct mon_targets)) {
		cd_log("control.logging: the tls targets' files add up to %zu "
		       "bytes, more than %zu",
		    files, (size_t)(PROC_MSG_MAX - sizeof(struct mon_targets)));
		cd_syslog_close(d);
		return -1;
	}
	return 0;
fail:
	if (s != NULL) {
		free(s->agg);
		free(s->bucket);
	}
	free(s);
	cd_log("syslog: out of memory");
	return -1;
}

void
cd_syslog_close(struct cd *d)
{
	struct cd_syslog *s = d->slog;

	if (s == NULL)
		return;
	sl_agg_expire(d, true);
	cd_syslog_mon_flush(d);
	for (unsigned i = 0; i < s->ntargets; i++)
		cd_slt_free(&s->t[i]);
	free(s->agg);
	free(s->bucket);
	free(s);
	d->slog = NULL;
}

int64_t
cd_syslog_next_ms(const struct cd *d)
{
	return d->slog != NULL ? d->slog->agg_next_ms : INT64_MAX;
}

void
cd_syslog_tick(struct cd *d)
{
	if (d->slog == NULL)
		return;
	/* Events kept while a request waited for its reply. */
	if (d->dpc != NULL)
		(void)dpc_events_read(d->dpc, sl_event, d);
	sl_agg_expire(d, false);
	/* records kept while the child was away, or its channel full */
	cd_syslog_mon_pending(d, proc_get(&d->procs, PROC_MON));
}

/* What cordon-dp sent itself while cordond was away (STATS_SLOG_FIELDS). */
static json_t *
sl_show_fallback(const struct stats *s)
{
	json_t *o = json_object();

#define X(f)                                                                   \
	json_object_set_new(o, #f, json_integer(s ? (json_int_t)s->slog.f : 0));
	STATS_SLOG_FIELDS(X)
#undef X
	return o;
}

json_t *
cd_syslog_show(struct cd *d)
{
	struct cd_syslog *s = d->slog;
	json_t *o = cd_obj(), *a = json_array();
	const struct conf_logging *cf = &d->ctl.logging;
	bool up = d->dp_state == CD_DP_UP && d->be->counters(d, d->sum) == 0;

	json_object_set_new(o, "facility",
	    json_string(conf_facility_name(cf->facility)));
	json_object_set_new(o, "window_s", json_integer(cf->window));
	json_object_set_new(o, "rate", json_integer(cf->rate));
	json_object_set_new(o, "events",
	    json_integer(s ? (json_int_t)s->events : 0));
	json_object_set_new(o, "records",
	    json_integer(s ? (json_int_t)s->records : 0));
	json_object_set_new(o, "pending_pairs", json_integer(s ? s->nagg : 0));
	json_object_set_new(o, "aggregation_overflow",
	    json_integer(s ? (json_int_t)s->overflow : 0));
	json_object_set_new(o, "rate_limited_records",
	    json_integer(s ? (json_int_t)s->rate_records : 0));
	json_object_set_new(o, "rate_limited_events",
	    json_integer(s ? (json_int_t)s->rate_events : 0));
	json_object_set_new(o, "channel_lost",
	    json_integer(d->dpc ? (json_int_t)dpc_events_lost(d->dpc) : 0));
	json_object_set_new(o, "dp_log_suppressed",
	    json_integer(up ? (json_int_t)d->sum->log_suppressed : 0));
	json_object_set_new(o, "dp_log_dropped",
	    json_integer(up ? (json_int_t)d->sum->log_dropped : 0));
	json_object_set_new(o, "dp_log_unsent",
	    json_integer(up ? (json_int_t)d->sum->log_unsent : 0));
	json_object_set_new(o, "dp_fallback",
	    sl_show_fallback(up ? d->sum : NULL));
	for (unsigned i = 0; s != NULL && i < s->ntargets; i++) {
		const struct cd_sl_target *t = &s->t[i];

		json_array_append_new(a,
		    json_pack("{s:i, s:s, s:s, s:i, s:s, "
		              "s:i, s:I, s:I, s:I, s:I, s:s}",
		        "target", (int)i + 1, "type",
		        conf_log_type_name(t->cf->type), "address",
		        t->cf->address, "port", (int)t->cf->port, "state",
		        cd_slt_state(d, t), "queued", (int)cd_slt_queued(t),
		        "sent", (json_int_t)(t->sent + t->cur.sent), "dropped",
		        (json_int_t)(t->dropped + t->cur.dropped), "reconnects",
		        (json_int_t)(t->reconnects + t->cur.reconnects),
		        "errors", (json_int_t)(t->errors + t->cur.errors),
		        "error", t->cur.error));
	}
	json_object_set_new(o, "targets", a);
	json_object_set_new(o, "monitors", json_integer(cd_mon_count(d)));
	return o;
}
