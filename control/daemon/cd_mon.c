/*
 * cordonctl monitor (docs/control.md, "monitor"): a client of either
 * control socket subscribes, and from then on its connection carries
 * cordon-dp's verdict events as they arrive, one JSON object per line,
 * filtered here.  The events are the ones syslog gets (cd_syslog.c),
 * taken before aggregation.
 *
 * A subscriber never slows cordond down: the filter and the rate
 * (CD_MON_RATE per second) are applied here, and each line goes to the
 * control child (cd_ctl_mon), which holds what the subscriber has not
 * read in a bounded queue (its socket buffer, made small, and
 * CTL_MON_QUEUE bytes); events beyond it or beyond the rate are counted
 * and the subscriber is told how many it lost once it has room again
 * (control/ctl/ctl_proc_tick.c).  At most CD_MON_MAX subscribers at once; as with client slots
 * (control/ctl/ctl_slot.c), no local user may take them all: a non-root uid
 * holds at most CD_MON_PER_UID, the read-only socket's non-root users
 * together CD_MON_RO_MAX, and one is left for root.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl/ctl_proc.h"
#include "control/daemon/cordond.h"
#include "core/classify/cls_fmt.h"
#include "core/stats/reasons.h"
#include "wire/dpc_proto.h"

#define CD_MON_MAX     8
#define CD_MON_RATE    1000 /* events per second per subscriber, as deep */
#define CD_MON_PER_UID 2    /* subscribers of one non-root uid */
#define CD_MON_RO_MAX  5    /* of non-root uids on the read-only socket */

struct cd_mon {
	bool deny;                    /* only what is not allowed */
	char rule[CONF_NAME_MAX + 8]; /* "": any rule */
	uint8_t af, plen;             /* src prefix; af 0: any source */
	uint8_t pfx[16];
	double tokens;
	int64_t tokens_ms;
	uint32_t lost_rate; /* over the rate, not yet told the child */
};

void
cd_mon_free(struct cd_mon *m)
{
	free(m);
}

unsigned
cd_mon_count(const struct cd *d)
{
	unsigned n = d->mon_new != NULL;

	for (unsigned i = 0; i < CD_CLIENT_MAX; i++)
		n += d->cl[i] != NULL && d->cl[i]->mon != NULL;
	return n;
}

/* "ADDR" or "ADDR/LEN" into M's prefix; -1 when it is neither. */
static int
cd_mon_prefix(struct cd_mon *m, const char *s)
{
	char addr[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long len;

	snprintf(addr, sizeof(addr), "%s", s);
	if ((slash = strchr(addr, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, addr, m->pfx) == 1)
		m->af = 4;
	else if (inet_pton(AF_INET6, addr, m->pfx) == 1)
		m->af = 6;
	else
		return -1;
	len = m->af == 4 ? 32 : 128;
	if (slash != NULL) {
		len = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || len > (m->af == 4 ? 32u : 128u))
			return -1;
	}
	m->plen = (uint8_t)len;
	return 0;
}

/*
 * Whether RQ's client may subscribe now (see the top): the monitors of
 * its uid, of the read-only socket's users, and of all non-root ones.
 */
static bool
cd_mon_room(const struct cd *d, const struct cd_req *rq)
{
	unsigned mine = 0, ro = 0, nonroot = 0;

	if (rq->uid == 0)
		return true;
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++) {
		const struct cd_client *c = d->cl[i];

		if (c == NULL || c->mon == NULL || c->uid == 0)
			continue;
		nonroot++;
		mine += c->uid == rq->uid;
		ro += c->ro;
	}
	return mine < CD_MON_PER_UID && nonroot < CD_MON_MAX - 1 &&
	       (!rq->ro || ro < CD_MON_RO_MAX);
}

static int
cd_mon_filter(struct cd_mon *m, const json_t *args, struct cd_err *e)
{
	const json_t *v;

	if ((v = json_object_get(args, "deny")) != NULL) {
		if (!json_is_boolean(v))
			return cd_fail(e, "bad-request", "deny: a boolean");
		m->deny = json_is_true(v);
	}
	if ((v = json_object_get(args, "rule")) != NULL) {
		if (!json_is_string(v) ||
		    json_string_length(v) >= sizeof(m->rule))
			return cd_fail(e, "bad-request",
			    "rule: a rule name (at most %d characters)",
			    CONF_NAME_MAX - 1);
		snprintf(m->rule, sizeof(m->rule), "%s", json_string_value(v));
	}
	v = json_object_get(args, "src");
	if (v != NULL &&
	    (!json_is_string(v) || cd_mon_prefix(m, json_string_value(v)) < 0))
		return cd_fail(e, "bad-request",
		    "src: an IPv4 or IPv6 address or prefix, e.g. "
		    "198.51.100.0/24");
	return 0;
}

int
cd_cmd_monitor(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct cd_mon *m;

	if (cd_mon_count(d) >= CD_MON_MAX)
		return cd_fail(e, "busy", "%d monitors are running already",
		    CD_MON_MAX);
	if (!cd_mon_room(d, rq))
		return cd_fail(e, "busy",
		    "no more monitors for uid %u (at most %d each, "
		    "%d through the read-only socket; one is root's)",
		    (unsigned)rq->uid, CD_MON_PER_UID, CD_MON_RO_MAX);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return cd_fail(e, "internal", "out of memory");
	if (cd_mon_filter(m, rq->args, e) < 0) {
		free(m);
		return -1;
	}
	m->tokens = CD_MON_RATE;
	m->tokens_ms = clk_mono_ms();
	free(d->mon_new);
	d->mon_new = m;
	*data = cd_obj();
	json_object_set_new(*data, "subscribed", json_true());
	json_object_set_new(*data, "rate", json_integer(CD_MON_RATE));
	json_object_set_new(*data, "queue_bytes", json_integer(CTL_MON_QUEUE));
	json_object_set_new(*data, "filter", json_deep_copy(rq->args));
	return 0;
}

/* The child makes it a subscriber with the reply (CTL_REPLY_MONITOR):
 * its input only watched for EOF, no timeout, a small socket buffer. */
void
cd_mon_attach(struct cd *d, struct cd_client *c)
{
	if (d->mon_new == NULL)
		return;
	c->mon = d->mon_new;
	d->mon_new = NULL;
}

static bool
cd_mon_match(const struct cd *d, const struct cd_mon *m,
    const struct dpc_wire_event *ev)
{
	char rb[16];
	unsigned full = m->plen / 8, rest = m->plen % 8;

	if (m->deny && ev->action == CDN_ACT_ALLOW)
		return false;
	if (m->rule[0] &&
	    strcmp(m->rule, cd_rule_name(d->run.pol, ev->rule, rb)) != 0)
		return false;
	if (m->af == 0)
		return true;
	if (m->af != ev->af || memcmp(m->pfx, ev->src, full) != 0)
		return false;
	return rest == 0 ||
	       ((m->pfx[full] ^ ev->src[full]) & (0xff00 >> rest)) == 0;
}

/* Within the subscriber's rate: true, one token spent. */
static bool
cd_mon_rate_ok(struct cd_mon *m)
{
	int64_t now = clk_mono_ms();

	m->tokens += (double)(now - m->tokens_ms) * CD_MON_RATE / 1000.0;
	m->tokens_ms = now;
	if (m->tokens > CD_MON_RATE)
		m->tokens = CD_MON_RATE;
	if (m->tokens < 1.0)
		return false;
	m->tokens -= 1.0;
	return true;
}

static void
cd_mon_addr(json_t *o, const char *key, int af, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(af == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	json_object_set_new(o, key, json_string(s));
}

static json_t *
cd_mon_json(const struct cd *d, const struct dpc_wire_event *ev)
{
	const struct policy *p = d->run.pol;
	char rb[16], pb[8], cc[GEO_CC_STRLEN];
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("event"));
	json_object_set_new(o, "time_us",
	    json_integer((json_int_t)(ev->unix_ns / 1000)));
	json_object_set_new(o, "action",
	    json_string(cdn_action_name(ev->action)));
	json_object_set_new(o, "reason",
	    json_string(cdn_reason_name(ev->reason)));
	json_object_set_new(o, "rule",
	    json_string(cd_rule_name(p, ev->rule, rb)));
	cd_mon_addr(o, "src", ev->af, ev->src);
	cd_mon_addr(o, "dst", ev->af, ev->dst);
	if (ev->flags & DPC_EV_PORTS) {
		json_object_set_new(o, "sport", json_integer(ev->sport));
		json_object_set_new(o, "dport", json_integer(ev->dport));
	}
	json_object_set_new(o, "proto",
	    json_string(cls_proto_name(ev->proto, pb, sizeof(pb))));
	json_object_set_new(o, "country",
	    json_string(geo_cc_name(ev->src_cc, cc)));
	json_object_set_new(o, "service",
	    p && ev->service < p->nservices
	        ? json_string(p->service_name[ev->service])
	        : json_null());
	if (ev->origin_af == 4 || ev->origin_af == 6) {
		cd_mon_addr(o, "origin", ev->origin_af, ev->origin);
		json_object_set_new(o, "origin_country",
		    json_string(geo_cc_name(ev->origin_cc, cc)));
	}
	if (ev->port < d->dpst.nports && ev->port < DPC_PORT_MAX)
		json_object_set_new(o, "port",
		    json_stringn(d->dpst.port[ev->port],
		        strnlen(d->dpst.port[ev->port], DPC_NAME_MAX)));
	json_object_set_new(o, "count", json_integer(ev->count));
	return o;
}

/* O as one line, consumed; NULL when out of memory. */
static char *
cd_mon_line(json_t *o, size_t *len)
{
	char *s = json_dumps(o, JSON_COMPACT), *l = NULL;

	json_decref(o);
	if (s != NULL && (l = realloc(s, strlen(s) + 2)) == NULL)
		free(s);
	if (l == NULL)
		return NULL;
	*len = strlen(l);
	memcpy(l + *len, "\n", 2);
	*len += 1;
	return l;
}

void
cd_mon_event(struct cd *d, const struct dpc_wire_event *ev)
{
	char *line = NULL;
	size_t len = 0;

	for (unsigned i = 0; i < CD_CLIENT_MAX; i++) {
		struct cd_client *c = d->cl[i];
		struct cd_mon *m = c != NULL ? c->mon : NULL;

		if (m == NULL || !cd_mon_match(d, m, ev))
			continue;
		if (!cd_mon_rate_ok(m)) {
			m->lost_rate++;
			continue;
		}
		if (line == NULL &&
		    (line = cd_mon_line(cd_mon_json(d, ev), &len)) == NULL)
			return;
		/* Lost on the way to the child: told as over the rate. */
		if (cd_ctl_mon(d, i, m->lost_rate, line, len) == 0)
			m->lost_rate = 0;
		else
			m->lost_rate++;
	}
	free(line);
}

void
cd_mon_tick(struct cd *d)
{
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++) {
		struct cd_mon *m = d->cl[i] != NULL ? d->cl[i]->mon : NULL;

		if (m != NULL && m->lost_rate > 0 &&
		    cd_ctl_mon(d, i, m->lost_rate, NULL, 0) == 0)
			m->lost_rate = 0;
	}
}
