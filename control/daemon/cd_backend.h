/*
 * What enforces the running revision: cordon-dp (backend "dpdk",
 * cd_dp.c) or the kernel's nftables (backend "nftables", cd_nft.c).
 * cordond picks one at start-up from the running revision and keeps it:
 * a revision that names the other backend is refused (restart cordond
 * to switch).  Everything that differs between the two goes through
 * this table; the rest of the daemon does not ask which one it has.
 */
#ifndef CORDON_CD_BACKEND_H
#define CORDON_CD_BACKEND_H

#include <stdbool.h>

struct cd;
struct cd_err;
struct cd_running;
struct nft_ctx;
struct stats;

struct cd_backend {
	const char *name;
	int backend; /* the enum conf_backend it enforces */
	/* Start-up: enforce the running revision, or begin trying to. */
	void (*start)(struct cd *d);
	/* Every loop turn: supervise, retry, bring back what was lost. */
	void (*tick)(struct cd *d);
	/*
	 * Activates revision R (with its geo tables when WITH_GEO; the
	 * kernel takes them every time) and the session table handed over
	 * with sess_table: 0, or -1 with E and the previous revision still
	 * in force.
	 */
	int (*activate)(struct cd *d, const struct cd_running *r, bool with_geo,
	    struct cd_err *e);
	/*
	 * Revision R runs but the enforcer is not up (cordon-dp down or
	 * restarting): what enforces without it takes R (host protection),
	 * so that an outage does not leave it on an older policy or older
	 * tables.  0, or -1 with E and the previous revision still in
	 * force there.  NULL: nothing enforces without the enforcer.
	 */
	int (*standby)(struct cd *d, const struct cd_running *r,
	    struct cd_err *e);
	/*
	 * Sums the enforcing side's counters into S: 0, or -1 (S zeroed)
	 * when there is no enforcer to ask (no channel, no table).
	 */
	int (*counters)(struct cd *d, struct stats *s);
	/*
	 * The identity sessions' table (core/sess memfd FD) goes to the
	 * enforcer with the next activation; nftables keeps sessions in
	 * its own set instead (sess_set).
	 */
	void (*sess_table)(struct cd *d, int fd);
	/* The nftables table whose sessions set mirrors the grants (the
	 * backend's own, or host protection's), or NULL. */
	struct nft_ctx *(*sess_set)(const struct cd *d);
	/* The fd the poll loop watches for the enforcer (cordon-dp's
	 * channel, the kernel's log events; -1: none), and what to do when
	 * FD, as poll_fd gave it, is readable. */
	int (*poll_fd)(const struct cd *d);
	void (*poll_in)(struct cd *d, int fd);
};

extern const struct cd_backend cd_backend_dpdk, cd_backend_nft;

/* 0 when revision R is enforced by the backend D runs; else -1 with E. */
int cd_backend_same(const struct cd *d, const struct cd_running *r,
    struct cd_err *e);
/*
 * Revision R (a commit's, a rollback's, new geo tables) is to run: the
 * enforcer activates it when up, else standby takes it.  0, or -1 with
 * E and nothing changed.
 */
int cd_backend_take(struct cd *d, const struct cd_running *r, bool with_geo,
    struct cd_err *e);

#endif
