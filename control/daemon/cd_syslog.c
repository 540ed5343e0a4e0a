/*
 * cordond's syslog: records built from cordon-dp's log events and from
 * the daemon's own events, formatted once (cd_syslog_fmt.c) and queued
 * on every target (cd_syslog_net.c).
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_syslog.h"
#include "control/daemon/cd_syslog_int.h"
#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"
#include "core/classify/cls_fmt.h"
#include "core/stats/reasons.h"
#include "core/util/clock.h"

#define SL_PARAMS_MAX 32

const char *
cd_syslog_u(char buf[24], uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

/* Formats once, queues on every target. */
static void
sl_emit(struct cd_syslog *s, unsigned sev, const char *msgid,
    const struct sl_param *sd, unsigned nsd, const char *msg)
{
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
	for (unsigned i = 0; i < s->ntargets; i++)
		sl_target_push(&s->t[i], buf, (size_t)n);
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
	};
	struct sl_param sd[SL_PARAMS_MAX];
	unsigned n = 0, sev = SL_NOTICE;
	const char *k;
	va_list ap;

	if (d->slog == NULL)
		return;
	va_start(ap, msg);
	while (n < SL_PARAMS_MAX && (k = va_arg(ap, const char *)) != NULL) {
		sd[n].name = k;
		sd[n++].value = va_arg(ap, const char *);
	}
	va_end(ap);
	for (size_t i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++)
		if (strcmp(sevs[i].id, msgid) == 0)
			sev = sevs[i].sev;
	sl_emit(d->slog, sev, msgid, sd, n, msg);
}

/* Packet records -------------------------------------------------------- */

static const char *
sl_msgid(unsigned action)
{
	switch (action) {
	case CDN_ACT_DROP:
		return "deny";
	case CDN_ACT_REJECT:
		return "reject";
	case CDN_ACT_REROUTE:
		return "reroute";
	default:
		return "allow";
	}
}

static void
sl_addr(const struct dpc_wire_event *ev, int dst, char *out, size_t len)
{
	inet_ntop(ev->af == 4 ? AF_INET : AF_INET6, dst ? ev->dst : ev->src,
	    out, (socklen_t)len);
}

/* Text of one packet record's fields (kept alive for sl_record). */
struct sl_ptext {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char sport[8], dport[8], proto[8], rule[16];
	char scc[GEO_CC_STRLEN], dcc[GEO_CC_STRLEN];
	char origin[INET6_ADDRSTRLEN], occ[GEO_CC_STRLEN];
	char count[24], first[32], last[32], port[DPC_NAME_MAX + 1];
	char msg[320];
};

static unsigned
sl_packet_params(struct cd *d, const struct dpc_wire_event *ev,
    struct sl_ptext *x, struct sl_param *sd)
{
	const struct policy *p = d->run.pol;
	const char *rule = cd_rule_name(p, ev->rule, x->rule);
	unsigned n = 0;

#define SL_P(k, v) (sd[n].name = (k), sd[n++].value = (v))
	SL_P("rule", rule);
	SL_P("action", cdn_action_name(ev->action));
	SL_P("reason", cdn_reason_name(ev->reason));
	SL_P("src", x->src);
	SL_P("dst", x->dst);
	if (ev->flags & DPC_EV_PORTS) {
		SL_P("sport", x->sport);
		SL_P("dport", x->dport);
	}
	SL_P("proto", x->proto);
	if (p && ev->service < p->nservices)
		SL_P("service", p->service_name[ev->service]);
	SL_P("srccountry", geo_cc_name(ev->src_cc, x->scc));
	/* Tunnels: the innermost source (docs/packet-parsing.md). */
	if (ev->origin_af == 4 || ev->origin_af == 6) {
		inet_ntop(ev->origin_af == 4 ? AF_INET : AF_INET6, ev->origin,
		    x->origin, sizeof(x->origin));
		SL_P("origin", x->origin);
		SL_P("origincountry", geo_cc_name(ev->origin_cc, x->occ));
	}
	if (p && p->needs_dst_geo)
		SL_P("dstcountry", geo_cc_name(ev->dst_cc, x->dcc));
	if (ev->port < d->dpst.nports && ev->port < DPC_PORT_MAX)
		SL_P("port", x->port);
	if (ev->flags & DPC_EV_FRAG)
		SL_P("fragment", "true");
	SL_P("repeat_count", x->count);
	SL_P("first", x->first);
	SL_P("last", x->last);
#undef SL_P
	return n;
}

static void
sl_record(struct cd *d, const struct dpc_wire_event *ev, uint64_t count,
    int64_t first_us, int64_t last_us)
{
	struct cd_syslog *s = d->slog;
	struct sl_param sd[SL_PARAMS_MAX];
	struct sl_ptext x;
	char pb[8];
	unsigned n;

	snprintf(x.proto, sizeof(x.proto), "%s",
	    cls_proto_name(ev->proto, pb, sizeof(pb)));
	sl_addr(ev, 0, x.src, sizeof(x.src));
	sl_addr(ev, 1, x.dst, sizeof(x.dst));
	snprintf(x.sport, sizeof(x.sport), "%u", ev->sport);
	snprintf(x.dport, sizeof(x.dport), "%u", ev->dport);
	snprintf(x.count, sizeof(x.count), "%llu", (unsigned long long)count);
	sl_timestamp(first_us, x.first);
	sl_timestamp(last_us, x.last);
	snprintf(x.port, sizeof(x.port), "%.*s", DPC_NAME_MAX - 1,
	    ev->port < DPC_PORT_MAX ? d->dpst.port[ev->port] : "");
	n = sl_packet_params(d, ev, &x, sd);
	snprintf(x.msg, sizeof(x.msg),
	    "%s %s %s -> %s%s%s rule %s, %llu "
	    "packet%s",
	    cdn_action_name(ev->action), x.proto, x.src, x.dst,
	    ev->flags & DPC_EV_PORTS ? " port " : "",
	    ev->flags & DPC_EV_PORTS ? x.dport : "", sd[0].value,
	    (unsigned long long)count, count == 1 ? "" : "s");
	if (s->ntargets == 0) {
		cd_log("%s", x.msg);
		s->records++;
		return;
	}
	sl_emit(s,
	    ev->action == CDN_ACT_ALLOW     ? SL_INFO
	    : ev->action == CDN_ACT_REROUTE ? SL_NOTICE
	                                    : SL_WARNING,
	    sl_msgid(ev->action), sd, n, x.msg);
}

/* The rate limit: a token bucket of RATE per second, as deep. */
static bool
sl_rate_ok(struct cd_syslog *s, uint64_t events)
{
	int64_t now = clk_mono_ms();

	s->tokens += (double)(now - s->tokens_ms) * s->cf->rate / 1000.0;
	s->tokens_ms = now;
	if (s->tokens > s->cf->rate)
		s->tokens = s->cf->rate;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		return true;
	}
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

/* Setup, poll, timers --------------------------------------------------- */

int
cd_syslog_open(struct cd *d)
{
	struct cd_syslog *s = calloc(1, sizeof(*s));
	char err[256];

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
	s->tokens = s->cf->rate;
	s->tokens_ms = clk_mono_ms();
	d->slog = s;
	for (unsigned i = 0; i < s->cf->ntargets; i++, s->ntargets++) {
		if (sl_target_init(&s->t[i], &s->cf->target[i], err,
		        sizeof(err)) < 0) {
			cd_log("control.logging target %u (line %d): %s", i + 1,
			    s->cf->target[i].line, err);
			sl_target_free(&s->t[i]);
			cd_syslog_close(d);
			return -1;
		}
		sl_target_tick(&s->t[i], clk_mono_ms());
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
	int64_t end = clk_mono_ms() + 1000;
	struct pollfd pfd[CD_SYSLOG_FDS];
	unsigned n, left;

	if (s == NULL)
		return;
	sl_agg_expire(d, true);
	do {
		left = 0;
		for (unsigned i = 0; i < s->ntargets; i++) {
			sl_target_tick(&s->t[i], clk_mono_ms());
			left += s->t[i].qn;
		}
		if (left == 0)
			break;
		n = cd_syslog_poll_fill(d, pfd);
		if (poll(pfd, n, 50) > 0)
			cd_syslog_poll_done(d, pfd, n);
	} while (clk_mono_ms() < end);
	for (unsigned i = 0; i < s->ntargets; i++)
		sl_target_free(&s->t[i]);
	free(s->agg);
	free(s->bucket);
	free(s);
	d->slog = NULL;
}

unsigned
cd_syslog_poll_fill(struct cd *d, struct pollfd *pfd)
{
	struct cd_syslog *s = d->slog;

	for (unsigned i = 0; s != NULL && i < s->ntargets; i++)
		pfd[i] = (struct pollfd){ .fd = s->t[i].fd,
			.events = sl_target_events(&s->t[i]) };
	return s != NULL ? s->ntargets : 0;
}

void
cd_syslog_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n)
{
	struct cd_syslog *s = d->slog;

	for (unsigned i = 0; s != NULL && i < n && i < s->ntargets; i++)
		if (pfd[i].fd >= 0 && pfd[i].fd == s->t[i].fd)
			sl_target_io(&s->t[i], pfd[i].revents);
}

int64_t
cd_syslog_next_ms(const struct cd *d)
{
	const struct cd_syslog *s = d->slog;
	int64_t t = INT64_MAX;

	if (s == NULL)
		return t;
	t = s->agg_next_ms;
	for (unsigned i = 0; i < s->ntargets; i++) {
		const struct sl_target *g = &s->t[i];

		if (g->st == SL_T_DOWN && g->retry_ms < t)
			t = g->retry_ms;
		else if (g->st != SL_T_DOWN && g->st != SL_T_UP &&
		         g->deadline_ms < t)
			t = g->deadline_ms;
	}
	return t;
}

/* geo-stale: once when the newest layer passes control.geo_max_age. */
static void
sl_geo_watch(struct cd *d)
{
	struct cd_syslog *s = d->slog;
	int64_t epoch = cd_geo_epoch(&d->run.geo);
	int64_t age = clk_unix_s() - epoch;
	bool stale = d->ctl.geo_max_age > 0 && d->run.conf != NULL &&
	             age > (int64_t)d->ctl.geo_max_age * 86400;

	if (stale && !s->geo_stale)
		cd_syslog_event(d, "geo-stale",
		    "geolocation data is older "
		    "than control.geo_max_age",
		    "build_epoch", CD_SL_U(epoch), "age_s", CD_SL_U(age),
		    "max_age_s", CD_SL_U((uint64_t)d->ctl.geo_max_age * 86400),
		    NULL);
	s->geo_stale = stale;
}

void
cd_syslog_tick(struct cd *d)
{
	struct cd_syslog *s = d->slog;
	int64_t now = clk_mono_ms();

	if (s == NULL)
		return;
	/* Events kept while a request waited for its reply. */
	if (d->dpc != NULL)
		(void)dpc_events_read(d->dpc, sl_event, d);
	sl_agg_expire(d, false);
	sl_geo_watch(d);
	for (unsigned i = 0; i < s->ntargets; i++)
		sl_target_tick(&s->t[i], now);
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
	for (unsigned i = 0; s != NULL && i < s->ntargets; i++) {
		const struct sl_target *t = &s->t[i];

		json_array_append_new(a,
		    json_pack("{s:i, s:s, s:s, s:i, s:s, "
		              "s:i, s:I, s:I, s:I, s:I, s:s}",
		        "target", (int)i + 1, "type",
		        conf_log_type_name(t->cf->type), "address",
		        t->cf->address, "port", (int)t->cf->port, "state",
		        sl_target_state(t), "queued", (int)t->qn, "sent",
		        (json_int_t)t->sent, "dropped", (json_int_t)t->dropped,
		        "reconnects", (json_int_t)t->reconnects, "errors",
		        (json_int_t)t->errors, "error", t->error));
	}
	json_object_set_new(o, "targets", a);
	json_object_set_new(o, "monitors", json_integer(cd_mon_count(d)));
	return o;
}
