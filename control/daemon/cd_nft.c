/*
 * cordond with backend = "nftables": the kernel enforces the running
 * revision instead of cordon-dp: the operations of cd_backend_nft
 * (cd_backend.h).  start applies the running revision, activate applies
 * a new one (commit, rollback, geo reload, each one atomic batch), and
 * the counters come from the kernel's rule counters.  The dataplane
 * state reads "up" while the table the running revision compiled to is
 * installed, so status, counters, SNMP and Prometheus need no second
 * code path.
 *
 * With backend = "dpdk" and control.host_protection set, the same
 * compiler guards the appliance's own management interface: an input
 * chain in table "inet cordon_host", replaced at every activation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"
#include "control/nft/nft.h"
#include "wire/dpc_proto.h"
#include "core/pkt/pkt_parse.h"

#define CD_NFT_HOST_TABLE "cordon_host"
#define CD_NFT_CHECK_MS   2000 /* how often the table's presence is checked */

static void
cd_nft_mark(struct cd *d, const struct cd_running *r)
{
	d->dpst.revision = r->rev;
	memcpy(d->dpst.policy_hash, r->pol_hash, DPC_HASH_LEN);
	memcpy(d->dpst.geo_hash, r->geo_hash, DPC_HASH_LEN);
	d->dpst.pid = getpid();
	d->dpst.nports = r->conf->nports < DPC_PORT_MAX ? r->conf->nports
	                                                : DPC_PORT_MAX;
	for (unsigned i = 0; i < d->dpst.nports; i++)
		snprintf(d->dpst.port[i], DPC_NAME_MAX, "%s",
		    r->conf->ports[i].ifname);
}

/* A failed read is logged and leaves S as it was. */
static int
cd_nft_counters(struct cd *d, struct stats *s)
{
	if (d->nft == NULL) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	if (nft_counters(d->nft, s) < 0)
		cd_log("nftables counters: %s", strerror(errno));
	return 0;
}

/* What the last batch was, for the log. */
static const char *
cd_nft_kind(const struct nft_info *in)
{
	if (in->delta)
		return "delta";
	return in->fallback ? "whole table, the ruleset had changed"
	                    : "whole table";
}

/* Tests only: a batch the kernel must refuse while the state folder
 * holds the file NAME (tests/nft). */
static bool
cd_nft_fault(const struct cd *d, const char *name)
{
	char path[CONF_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", d->ctl.state_dir, name);
	return d->test_timers && access(path, F_OK) == 0;
}

/* WITH_GEO does not matter: region sets are diffed with the kernel's. */
static int
cd_nft_activate(struct cd *d, const struct cd_running *r, bool with_geo,
    struct cd_err *e)
{
	struct nft_opts o = { .mode = NFT_MODE_ROUTER,
		.inject_bad_elem = cd_nft_fault(d, "nft-fault") };
	const struct nft_info *in;
	char err[1024];

	(void)with_geo;
	if (cd_backend_same(d, r, e) < 0)
		return -1;
	cd_rulectr_swap_resume(d);
	cd_rulectr_swap_begin(d,
	    cd_nft_counters(d, d->sum) == 0 ? d->sum : NULL);
	if (d->nft == NULL)
		return cd_fail(e, "dataplane", "nftables is not open");
	if (nft_apply_policy(d->nft, r->conf, r->pol, r->geo.tables, &o, err,
	        sizeof(err)) < 0)
		return cd_fail(e, "dataplane",
		    "nftables refused revision %lu "
		    "(the previous ruleset stays in force): %s",
		    (unsigned long)r->rev, err);
	in = nft_last(d->nft);
	cd_log("nftables: revision %lu installed (%s): %zu elements, %zu "
	       "messages, %zu bytes in %.0f + %.0f ms%s",
	    (unsigned long)r->rev, cd_nft_kind(in), in->elems, in->msgs,
	    in->bytes, in->build_ms, in->send_ms,
	    in->retries ? " (after generation conflicts)" : "");
	cd_nft_mark(d, r);
	(void)cd_nft_counters(d, d->base);
	cd_rulectr_swap_end(d, r);
	return 0;
}

/* Backend nftables at start-up: install the running revision. */
static void
cd_nft_start(struct cd *d)
{
	struct cd_err e;
	char err[512];

	if (d->nft == NULL &&
	    (d->nft = nft_open(NFT_TABLE_DEFAULT, err, sizeof(err))) == NULL) {
		cd_log("nftables: %s", err);
		return;
	}
	/* Without it the counters still work; log events are lost. */
	if (d->nft_log == NULL && (d->nft_log = nft_log_open(NFT_LOG_GROUP, err,
	                               sizeof(err))) == NULL)
		cd_log("nftables: no log events: %s", err);
	if (cd_nft_activate(d, &d->run, true, &e) < 0) {
		snprintf(d->dp_error, sizeof(d->dp_error), "%s", e.msg);
		cd_log("%s", e.msg);
		d->dp_state = CD_DP_DOWN;
		d->dp_next_ms = clk_mono_ms() + 5000;
		return;
	}
	d->dp_error[0] = '\0';
	d->dp_next_ms = clk_mono_ms() + CD_NFT_CHECK_MS;
	d->dp_state = CD_DP_UP;
	d->dp_pid = getpid();
	d->dp_up_since = clk_mono_ms();
	sd_notifyf(0, "%sSTATUS=revision %lu enforced by nftables",
	    d->ready_sent ? "" : "READY=1\n", (unsigned long)d->run.rev);
	d->ready_sent = true;
}

/*
 * Backend nftables, every few seconds: retries a start-up the kernel
 * refused, and puts the running revision back if the table was deleted
 * from under us (`nft flush ruleset`, say), as cd_dp_verify does for a
 * cordon-dp that lost its state.
 */
static void
cd_nft_tick(struct cd *d)
{
	struct cd_err e;

	if (clk_mono_ms() < d->dp_next_ms)
		return;
	d->dp_next_ms = clk_mono_ms() + CD_NFT_CHECK_MS;
	if (d->dp_state != CD_DP_UP) {
		cd_nft_start(d);
		return;
	}
	if (nft_table_present(d->nft) != 0)
		return;
	cd_log("nftables: table inet %s is gone: reinstalling revision %lu",
	    NFT_TABLE_DEFAULT, (unsigned long)d->run.rev);
	cd_syslog_event(d, "dataplane-restarted", "nftables table reinstalled",
	    "revision", CD_SL_U(d->run.rev), NULL);
	cd_alarm_event(d, CD_AL_DP_RESTARTED,
	    "nftables table was gone: reinstalled");
	if (cd_nft_activate(d, &d->run, true, &e) < 0)
		cd_log("%s", e.msg);
}

/*
 * Host protection (backend dpdk): the management interface's chain takes
 * revision R.  0 (also when it is off), or -1 with E and the previous
 * revision still on the interface (one batch); the tick then retries
 * the running one (host_stale).
 */
int
cd_nft_host(struct cd *d, const struct cd_running *r, struct cd_err *e)
{
	struct nft_opts o = { .mode = NFT_MODE_HOST,
		.host_if = d->ctl.host_if,
		.inject_bad_elem = cd_nft_fault(d, "nft-host-fault") };
	char err[1024];

	if (d->ctl.host_if[0] == '\0')
		return 0;
	if (d->nft_host == NULL && (d->nft_host = nft_open(CD_NFT_HOST_TABLE,
	                                err, sizeof(err))) == NULL) {
		d->host_stale = true;
		return cd_fail(e, "dataplane", "host protection: %s", err);
	}
	if (nft_apply_policy(d->nft_host, r->conf, r->pol, r->geo.tables, &o,
	        err, sizeof(err)) < 0) {
		d->host_stale = true;
		return cd_fail(e, "dataplane",
		    "host protection: revision %lu not installed, the "
		    "previous one stays on %s: %s",
		    (unsigned long)r->rev, d->ctl.host_if, err);
	}
	d->host_stale = false;
	cd_debug("host protection: revision %lu on %s", (unsigned long)r->rev,
	    d->ctl.host_if);
	return 0;
}

/* The kernel's sessions set replaces the table (docs/nftables.md). */
static void
cd_nft_sess_table(struct cd *d, int fd)
{
	(void)d;
	(void)fd;
}

static struct nft_ctx *
cd_nft_sess_set(const struct cd *d)
{
	return d->nft;
}

void
cd_nft_close(struct cd *d)
{
	nft_close(d->nft);
	nft_close(d->nft_host);
	nft_log_close(d->nft_log);
	d->nft = d->nft_host = NULL;
	d->nft_log = NULL;
}

/* Backend nftables polls the log events' socket (-1: none). */
static int
cd_nft_log_fd(const struct cd *d)
{
	return nft_log_fd(d->nft_log);
}

/* What the rule named by a log prefix did: -1 when it names none. */
static int
cd_nft_log_rule(const struct conf *c, const char *prefix,
    struct dpc_wire_event *ev)
{
	unsigned i;

	ev->rule = 0xffff;
	if (strcmp(prefix, "cordon default") == 0) {
		ev->action = (uint8_t)c->default_action;
		ev->reason = c->default_action == CDN_ACT_ALLOW ? CDN_R_NONE
		                                                : CDN_R_DEFAULT;
	} else if (strcmp(prefix, "cordon identity") == 0) {
		ev->action = (uint8_t)c->identity.unident_action;
		ev->reason = CDN_R_NO_SESSION;
	} else if (sscanf(prefix, "cordon r%u", &i) == 1 && i < c->nrules) {
		ev->rule = (uint16_t)i;
		ev->action = (uint8_t)c->rules[i].action;
		ev->reason = ev->action == CDN_ACT_ALLOW ? CDN_R_NONE
		                                         : CDN_R_RULE;
	} else
		return -1;
	return 0;
}

/* The config port of the interface IFINDEX, or 0xff. */
static uint8_t
cd_nft_log_port(const struct conf *c, uint32_t ifindex)
{
	char name[IF_NAMESIZE];

	if (ifindex == 0 || if_indextoname(ifindex, name) == NULL)
		return 0xff;
	for (unsigned i = 0; i < c->nports; i++)
		if (strcmp(c->ports[i].ifname, name) == 0)
			return (uint8_t)i;
	return 0xff;
}

/* Addresses, ports, countries, service: as cordon-dp fills them. */
static void
cd_nft_log_meta(const struct cd *d, const struct pkt_meta *m,
    struct dpc_wire_event *ev)
{
	const struct geo_tables *g = d->run.geo.tables;
	uint32_t s4 = htonl(m->src4), d4 = htonl(m->dst4);
	bool ports = m->has_l4 &&
	             (m->l4proto == IPPROTO_TCP || m->l4proto == IPPROTO_UDP);

	ev->af = m->af;
	ev->proto = m->l4proto;
	if (m->af == 4) {
		memcpy(ev->src, &s4, 4);
		memcpy(ev->dst, &d4, 4);
		ev->src_cc = geo_lookup4(g, m->src4);
		ev->dst_cc = d->run.pol->needs_dst_geo ? geo_lookup4(g, m->dst4)
		                                       : 0;
	} else {
		memcpy(ev->src, m->src6, 16);
		memcpy(ev->dst, m->dst6, 16);
		ev->src_cc = geo_lookup6(g, m->src6);
		ev->dst_cc = d->run.pol->needs_dst_geo ? geo_lookup6(g, m->dst6)
		                                       : 0;
	}
	ev->sport = m->sport;
	ev->dport = m->dport;
	ev->flags = (ports ? DPC_EV_PORTS : 0) |
	            (m->frag != PKT_FRAG_NONE ? DPC_EV_FRAG : 0);
	ev->service =
	    ports ? d->run.pol->port_service[m->l4proto == IPPROTO_TCP
	                                         ? POL_PROTO_TCP
	                                         : POL_PROTO_UDP][m->dport]
	          : POL_SVC_NONE;
}

/*
 * One logged packet: the kernel hands its IP header onwards; a blank
 * Ethernet header in front lets the fast path's own parser read it.
 */
static void
cd_nft_log_pkt(void *arg, const struct nft_log_pkt *p)
{
	static uint8_t frame[14 + 65536];
	struct cd *d = arg;
	struct dpc_wire_event ev = { .count = 1 };
	struct pkt_meta m;

	if (p->len == 0 || p->len > 65536 || d->run.conf == NULL ||
	    cd_nft_log_rule(d->run.conf, p->prefix, &ev) < 0)
		return;
	memset(frame, 0, 12);
	frame[12] = (p->pkt[0] >> 4) == 6 ? 0x86 : 0x08;
	frame[13] = (p->pkt[0] >> 4) == 6 ? 0xdd : 0x00;
	memcpy(frame + 14, p->pkt, p->len);
	if (pkt_parse(frame, (uint32_t)(14 + p->len), &m) != 0)
		return;
	cd_nft_log_meta(d, &m, &ev);
	ev.port = cd_nft_log_port(d->run.conf, p->ifindex);
	ev.unix_ns = clk_unix_ns();
	cd_syslog_packet(d, &ev);
}

static void
cd_nft_log_read(struct cd *d, int fd)
{
	if (fd >= 0 && d->nft_log != NULL &&
	    nft_log_read(d->nft_log, cd_nft_log_pkt, d) < 0)
		cd_log("nftables log events: %s", strerror(errno));
}

const struct cd_backend cd_backend_nft = {
	.name = "nftables",
	.backend = CONF_BACKEND_NFTABLES,
	.start = cd_nft_start,
	.tick = cd_nft_tick,
	.activate = cd_nft_activate,
	.standby = NULL, /* activate always runs: the kernel is the enforcer */
	.counters = cd_nft_counters,
	.sess_table = cd_nft_sess_table,
	.sess_set = cd_nft_sess_set,
	.poll_fd = cd_nft_log_fd,
	.poll_in = cd_nft_log_read,
};
