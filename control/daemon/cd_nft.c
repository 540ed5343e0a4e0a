/*
 * cordond with backend = "nftables": the kernel enforces the running
 * revision instead of cordon-dp.  cd_dp.c hands over to these functions:
 * start applies the running revision, push applies a new one (commit,
 * rollback, geo reload, each one atomic batch), and the counters come
 * from the kernel's rule counters.  The dataplane state reads "up" while
 * the table the running revision compiled to is installed, so status,
 * counters, SNMP and Prometheus need no second code path.
 *
 * With backend = "dpdk" and control.host_protection set, the same
 * compiler guards the appliance's own management interface: an input
 * chain in table "inet cordon_host", replaced at every activation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control/daemon/cordond.h"
#include "control/nft/nft.h"

#define CD_NFT_HOST_TABLE "cordon_host"

bool
cd_nft_backend(const struct cd *d)
{
	return d->run.conf != NULL &&
	    d->run.conf->backend == CONF_BACKEND_NFTABLES;
}

static void
cd_nft_mark(struct cd *d, const struct cd_running *r)
{
	d->dpst.revision = r->rev;
	memcpy(d->dpst.policy_hash, r->pol_hash, DPC_HASH_LEN);
	memcpy(d->dpst.geo_hash, r->geo_hash, DPC_HASH_LEN);
	d->dpst.pid = getpid();
	d->dpst.nports = r->conf->nports < DPC_PORT_MAX ? r->conf->nports :
	    DPC_PORT_MAX;
	for (unsigned i = 0; i < d->dpst.nports; i++)
		snprintf(d->dpst.port[i], DPC_NAME_MAX, "%s",
		    r->conf->ports[i].ifname);
}

int
cd_nft_push(struct cd *d, const struct cd_running *r, struct cd_err *e)
{
	struct nft_opts o = { .mode = NFT_MODE_ROUTER };
	const struct nft_info *in;
	char err[1024], fault[CONF_PATH_MAX + 16];

	/* Tests only: a batch the kernel must refuse (tests/nft). */
	snprintf(fault, sizeof(fault), "%s/nft-fault", d->ctl.state_dir);
	o.inject_bad_elem = d->test_timers && access(fault, F_OK) == 0;
	if (r->conf->backend != CONF_BACKEND_NFTABLES)
		return cd_fail(e, "dataplane", "revision %lu changes the "
		    "backend: restart cordond to switch", (unsigned long)r->rev);
	if (d->nft == NULL)
		return cd_fail(e, "dataplane", "nftables is not open");
	if (nft_apply(d->nft, r->conf, r->geo.tables, &o, err,
	    sizeof(err)) < 0)
		return cd_fail(e, "dataplane", "nftables refused revision %lu "
		    "(the previous ruleset stays in force): %s",
		    (unsigned long)r->rev, err);
	in = nft_last(d->nft);
	cd_log("nftables: revision %lu installed: %zu elements, %zu "
	    "messages, %zu bytes in %.0f + %.0f ms%s", (unsigned long)r->rev,
	    in->elems, in->msgs, in->bytes, in->build_ms, in->send_ms,
	    in->retries ? " (after generation conflicts)" : "");
	cd_nft_mark(d, r);
	cd_dp_stats_sum(d, d->base);
	return 0;
}

/* Backend nftables at start-up: install the running revision. */
int
cd_nft_start(struct cd *d)
{
	struct cd_err e;
	char err[512];

	if (d->nft == NULL &&
	    (d->nft = nft_open(NFT_TABLE_DEFAULT, err, sizeof(err))) == NULL) {
		cd_log("nftables: %s", err);
		return -1;
	}
	if (cd_nft_push(d, &d->run, &e) < 0) {
		snprintf(d->dp_error, sizeof(d->dp_error), "%s", e.msg);
		cd_log("%s", e.msg);
		d->dp_state = CD_DP_DOWN;
		d->dp_next_ms = cd_now_ms() + 5000;
		return -1;
	}
	d->dp_error[0] = '\0';
	d->dp_state = CD_DP_UP;
	d->dp_pid = getpid();
	d->dp_up_since = cd_now_ms();
	sd_notifyf(0, "%sSTATUS=revision %lu enforced by nftables",
	    d->ready_sent ? "" : "READY=1\n", (unsigned long)d->run.rev);
	d->ready_sent = true;
	return 0;
}

/* Backend nftables: retries a start-up that the kernel refused. */
void
cd_nft_tick(struct cd *d)
{
	if (d->dp_state == CD_DP_UP || cd_now_ms() < d->dp_next_ms)
		return;
	(void)cd_nft_start(d);
}

/* Host protection (backend dpdk): the management interface's chain. */
void
cd_nft_host(struct cd *d, const struct cd_running *r)
{
	struct nft_opts o = { .mode = NFT_MODE_HOST,
	    .host_if = d->ctl.host_if };
	char err[1024];

	if (d->ctl.host_if[0] == '\0' || cd_nft_backend(d))
		return;
	if (d->nft_host == NULL && (d->nft_host = nft_open(CD_NFT_HOST_TABLE,
	    err, sizeof(err))) == NULL) {
		cd_log("host protection: %s", err);
		return;
	}
	if (nft_apply(d->nft_host, r->conf, r->geo.tables, &o, err,
	    sizeof(err)) < 0)
		cd_log("host protection: revision %lu not installed, the "
		    "previous one stays: %s", (unsigned long)r->rev, err);
	else
		cd_debug("host protection: revision %lu on %s",
		    (unsigned long)r->rev, d->ctl.host_if);
}

void
cd_dp_stats_sum(struct cd *d, struct stats *s)
{
	if (d->nft != NULL && cd_nft_backend(d)) {
		if (nft_counters(d->nft, s) < 0)
			cd_log("nftables counters: %s", strerror(errno));
		return;
	}
	if (d->dpc != NULL)
		dpc_stats_sum(d->dpc, s);
	else
		memset(s, 0, sizeof(*s));
}

void
cd_nft_close(struct cd *d)
{
	nft_close(d->nft);
	nft_close(d->nft_host);
	d->nft = d->nft_host = NULL;
}
