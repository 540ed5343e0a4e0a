/*
 * cordond: the control daemon.  One poll() loop: the requests of the
 * control sockets (cordonctl, docs/control.md section 3), read and
 * framed by its control child (cd_proc_ctl.c, control/ctl), the dataplane
 * channel (control/dpc) and the supervision of cordon-dp, the
 * commit-confirm timer.  Everything it changes goes through the store
 * (control/store) and the audit log.
 */
#ifndef CORDON_CORDOND_H
#define CORDON_CORDOND_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config/load/conf.h"
#include "control/daemon/cd_alarm.h"
#include "control/daemon/cd_backend.h"
#include "control/daemon/cd_proc_ctl.h"
#include "control/daemon/cd_rulectr.h"
#include "control/daemon/cd_sess.h"
#include "control/daemon/cd_util.h"
#include "control/daemon/cd_snmp.h"
#include "control/daemon/cd_syslog.h"
#include "control/dpc/dpc.h"
#include "control/proc/proc.h"
#include "config/geo/geo_build.h"
#include "control/store/store.h"
#include "core/policy/policy.h"
#include "core/stats/stats.h"

#define CD_VERSION    "0.1.0"
#define CD_REQ_MAX    (1u << 20) /* request body bytes */
#define CD_CLIENT_MAX 64         /* the control child's slots (ctl_proc.h) */
#define CD_START_MARGIN_MS                                                     \
	100                    /* a change starts only this far from
				   the client's deadline */
#define CD_DP_TIMEOUT_MS 15000 /* one LOAD round trip */
#define CD_BACKOFF_MAX_S 30
#define CD_LOAD_MAX      (512u << 10) /* load: bytes of a config file */

/* A compiled revision: what cordon-dp enforces (or should). */
struct cd_running {
	uint64_t rev;
	char path[CONF_PATH_MAX + 32]; /* the revision's flattened file */
	char *text;
	struct conf *conf;
	struct policy *pol;
	struct geo_db geo;
	bool geo_borrowed; /* GEO belongs to the running one */
	uint8_t pol_hash[DPC_HASH_LEN];
	uint8_t geo_hash[DPC_HASH_LEN];
	uint32_t rid[POL_RULE_MAX]; /* pol's rules' stable ids (cd_ruleid.c) */
};

enum cd_dp_state {
	CD_DP_DOWN,     /* waiting for the restart time */
	CD_DP_STARTING, /* spawned (or lost): connecting */
	CD_DP_UP,       /* connected and enforcing run.rev */
};

struct cd_alarm {
	char name[32];
	char detail[160];
	int64_t since; /* unix seconds; 0: not raised */
};

/* A client of the control sockets, as the control child handed it over
 * (cd_proc_ctl.c): who it is is read here, from cordond's own copy of
 * its socket. */
struct cd_client {
	int fd; /* cordond's copy: credentials, listener, hang-up */
	uint32_t cid;
	bool ro;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int64_t since_ms;   /* accepted at (clk_mono_ms) */
	struct cd_mon *mon; /* a monitor subscriber (cd_mon.c), else NULL */
};

struct cd {
	const char *conf_path;
	struct conf_control ctl;
	bool debug;
	bool test_timers;
	int64_t started;      /* wall clock, for show */
	int64_t started_boot; /* boot time, for uptime */

	struct store *store;
	char audit_path[CONF_PATH_MAX + 16];
	struct cd_running run;

	/* dataplane */
	char dp_binary[PATH_MAX + 16];
	struct dpc *dpc;
	struct dpc_status dpst;
	enum cd_dp_state dp_state;
	pid_t dp_pid; /* the cordon-dp we talk to (or spawned) */
	/* The revision whose file it was started with: its revision 0
	 * (show top names what that policy denied with it); 0: unknown. */
	uint64_t dp_boot_rev;
	bool dp_child; /* DP_PID is our child */
	unsigned restarts;
	unsigned backoff_s;
	int64_t dp_next_ms;    /* next restart or connect attempt */
	int64_t dp_give_up_ms; /* STARTING: kill and restart after */
	int64_t dp_up_since;
	bool ready_sent;
	int64_t audit_broken;  /* since when changes cannot be audited, 0 */
	struct stats *base;    /* counters at the last activation */
	struct stats *sum;     /* scratch */
	struct cd_rulectr *rc; /* hits per rule identity (cd_rulectr.h) */

	struct cd_alarm alarm_geo;  /* geo-static: saved tables */
	struct cd_alarm alarm_evid; /* evidence-failed (cd_evid.c) */
	bool evid_heard;            /* an evidence note came since the start */
	struct cd_alarm_row alarms[CD_AL_MAX]; /* the table (cd_alarm.h) */
	int64_t alarm_next_ms;
	const struct cd_alarm_ops *alarm_ops;
	int64_t dp_unsync_s; /* boot time it was last seen in sync */
	uint8_t geo_saved_id[DPC_HASH_LEN]; /* what the saved file holds */
	char dp_error[1024];
	struct nft_ctx *nft;         /* backend nftables (cd_nft.c) */
	struct nft_ctx *nft_host;    /* host protection, backend dpdk */
	bool host_stale;             /* it may not hold the running revision */
	int64_t host_retry_ms;       /* when cd_dp_tick tries it again */
	struct nft_log *nft_log;     /* log events, backend nftables */
	const struct cd_backend *be; /* chosen at start-up */

	/* commit confirmed */
	uint64_t confirm_rev, confirm_prev;
	int64_t confirm_deadline; /* boot time (clk_boot_s); 0: none */

	/* a change active and audited, stored once answered (cd_promote.c) */
	uint64_t promote_rev; /* 0: none */
	uid_t promote_uid;
	pid_t promote_pid;
	const struct cd_client *promote_cl; /* whose reply; NULL: none yet */

	/* sockets */
	int lfd, rofd, sigfd;
	struct cd_client *cl[CD_CLIENT_MAX];
	struct cd_syslog *slog;   /* cd_syslog.c */
	struct cd_prom *prom;     /* NULL: no Prometheus listener */
	struct cd_sessions *sess; /* NULL: no identity group */
	struct cd_mon *mon_new;   /* subscribed, not yet attached (cd_mon.c) */
	struct cd_ctl ctlp;       /* the control child (cd_proc_ctl.c) */
	bool quit;

	/* children (cd_proc.c, control/proc) */
	struct proc_set procs;
	int64_t proc_next_ms; /* proc_tick's next start */
};

/* The request being served: who asked, on which socket. */
struct cd_req {
	const char *cmd;
	json_t *args;
	uid_t uid;
	pid_t pid;
	bool ro;
	int64_t deadline_ms; /* the client's, CLOCK_MONOTONIC; 0: none */
};

/* cd_run.c: compiling revisions */
int cd_run_compile(struct cd *d, uint64_t rev, const char *text,
    const struct cd_running *reuse_geo, struct cd_running *out,
    struct cd_err *e);
void cd_run_free(struct cd_running *r);
int cd_run_load_running(struct cd *d, struct cd_err *e);
/* Logs the database answers that place nobody ("EU", "ZZ"). */
void cd_geo_note(const struct geo_db *db);
/* A change of the running revision: its store metadata and audit. */
struct cd_change {
	const char *kind;    /* store_meta.kind: commit, rollback, revert */
	const char *comment; /* store_meta.comment, may be NULL */
	const char *cmd;     /* the audit record's cmd ... */
	const char *diff;    /* ... and diff (may be NULL) */
	bool need_dp;        /* refuse when cordon-dp is not up */
	const json_t *ids;   /* rule identities pinned by name (cd_ruleid.c) */
};
int cd_apply(struct cd *d, const char *text, const struct cd_change *c,
    const struct cd_req *rq, uint64_t *newrev, struct cd_err *e);
/*
 * Start-up: completes or undoes a commit a crash cut short, and audits
 * the repairs store_open made (cd_recover.c).  0, or -1 when the state
 * folder cannot be brought to either.
 */
int cd_recover(struct cd *d);

/*
 * cd_promote.c: cd_apply leaves its revision staged (cd_promote_defer);
 * cd_promote stores it once the reply is written (DELIVERED), or when
 * the client has gone or something else must come first (a record WHY
 * says so).  0 also when none is pending; -1: it stays pending.
 */
void cd_promote_defer(struct cd *d, const struct cd_req *rq, uint64_t rev);
int cd_promote(struct cd *d, bool delivered, const char *why);

/* cd_audit.c: a change's record (stores a staged revision first); 0 or
 * -1 (logged).  ready: 0 when the log can take a record; else sets the
 * alarm, -1. */
int cd_audit(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *result, const char *diff, uint64_t rev);
int cd_audit_ready(struct cd *d);

/* cd_privs.c: gives up the capabilities cordond and cordon-dp do not use. */
int cd_privs_drop(void);

/*
 * cd_proc.c: the children.  init: hooks, /proc/self/exe, users and the
 * empty root (before privileges drop); crash_loop: the condition of
 * process-crash-loop; status: show status's processes array.
 */
int cd_proc_init(struct cd *d);
int cd_proc_crash_loop(struct cd *d, char *detail, size_t len);
json_t *cd_proc_status(struct cd *d);

/* cd_dp.c: cordon-dp supervision (cd_backend_dpdk) */
void cd_dp_reaped(struct cd *d, pid_t pid, int status);
const char *cd_dp_state_name(enum cd_dp_state s);
/* Up, enforcing the running revision's policy (status in_sync). */
bool cd_dp_in_sync(const struct cd *d);

/*
 * cd_nft.c: backend nftables (cd_backend_nft: the kernel enforces, no
 * cordon-dp) and host protection.  host: with backend dpdk, installs R's
 * rules on control.host_protection.
 */
struct nft_ctx;
int cd_nft_host(struct cd *d, const struct cd_running *r, struct cd_err *e);
void cd_nft_close(struct cd *d);

/* cd_sock.c: the control sockets' listeners (their clients are the
 * control child's, cd_proc_ctl.c) */
int cd_sock_open(struct cd *d);
void cd_sock_close(struct cd *d);

/* cd_evid.c: cordon-dp's evidence notes to syslog; show captures. */
struct dpc_msg_evidence;
void cd_evid_in(void *arg, const struct dpc_msg_evidence *m);
json_t *cd_show_captures(struct cd *d);

/*
 * cd_mon.c: cordonctl monitor.  The monitor handler leaves the new
 * subscription in D->mon_new; attach gives it to the client whose
 * request it answered (after its reply is queued).  event: one verdict
 * event from cordon-dp for every subscriber whose filter takes it;
 * tick: tells subscribers with room again what they lost.
 */
struct cd_mon;
struct dpc_wire_event;
void cd_mon_attach(struct cd *d, struct cd_client *c);
void cd_mon_event(struct cd *d, const struct dpc_wire_event *ev);
void cd_mon_tick(struct cd *d);
void cd_mon_free(struct cd_mon *m);
unsigned cd_mon_count(const struct cd *d); /* subscribers now */

/* cd_cmd.c: request dispatch */
json_t *cd_cmd_run(struct cd *d, json_t *req, const struct cd_client *c);

/* Command handlers: 0 with *DATA set, or -1 with E filled. */
typedef int cd_cmd_fn(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e);
cd_cmd_fn cd_cmd_status, cd_cmd_counters, cd_cmd_show, cd_cmd_lookup,
    cd_cmd_explain, cd_cmd_set, cd_cmd_delete, cd_cmd_compare, cd_cmd_commit,
    cd_cmd_confirm, cd_cmd_rollback, cd_cmd_geo_reload, cd_cmd_audit_verify,
    cd_cmd_session_add, cd_cmd_session_list, cd_cmd_session_revoke,
    cd_cmd_discard, cd_cmd_update;
/* cd_alarm_cmd.c: show alarms, alarm ack, alarm clear. */
cd_cmd_fn cd_cmd_alarm_list, cd_cmd_alarm_ack, cd_cmd_alarm_clear;
cd_cmd_fn cd_cmd_monitor;
cd_cmd_fn cd_cmd_complete;
/* cd_top.c: top denied sources (show top) */
cd_cmd_fn cd_cmd_top;

/*
 * cd_cand.c: a change to the caller's candidate audited, or taken back
 * (cd_cand_audit); rollback N into the candidate; the answer to an edit
 * (cd_diff_data, cd_commit.c).
 */
int cd_cand_audit(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *change, uint64_t base, const char *old, size_t len,
    uint64_t old_base, struct cd_err *e);
/* The same, the old candidate's pinned rule ids OLD_IDS put back too. */
int cd_cand_audit_ids(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *change, uint64_t base, const char *old, size_t len,
    uint64_t old_base, const json_t *old_ids, struct cd_err *e);
int cd_rollback_cand(struct cd *d, const struct cd_req *rq, uint64_t to,
    const char *text, json_t **data, struct cd_err *e);
json_t *cd_diff_data(struct cd *d, const char *cand, uint64_t base);

/*
 * cd_revs.c: load override|merge; show config [N] (the show handler's
 * "config"); compare's revision forms: 1 when ARGS name revisions (DATA
 * set), 0 when not (the candidate's compare), -1 with E.
 */
cd_cmd_fn cd_cmd_load, cd_show_config;
int cd_compare_revs(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e);

/*
 * cd_conffile.c: the config file against the running revision.  ctl:
 * at start-up, D->ctl from the running revision (state_dir: FILE's);
 * differs: FILE flattened differs from TEXT (1), not (0), or -1 with
 * ERR; status: the status reply's "config_file"; warn: logged and sent
 * to syslog at start-up when they differ; check_start: cordond
 * --check-start (exit status).
 */
int cd_conffile_ctl(struct cd *d);
int cd_conffile_start_ctl(const char *path, struct conf_control *ctl,
    bool *broken, char *err, size_t errlen);
int cd_conffile_differs(const char *conf_path, const char *text, char *err,
    size_t errlen);
json_t *cd_conffile_status(struct cd *d);
void cd_conffile_warn(struct cd *d);
int cd_conffile_check_start(const char *conf_path);
/* cordond -n on PATH: loaded, compiled and printed; the exit status. */
int cd_check(const char *path);

/*
 * cd_prom.c: the Prometheus listener (control.prometheus).  open: 0 when
 * off or listening, -1 (logged) when it cannot bind; fd: the listening
 * socket (the monitoring child accepts on it), or -1.
 */
int cd_prom_open(struct cd *d);
void cd_prom_close(struct cd *d);
int cd_prom_fd(const struct cd *d);
/* The exposition text (malloc), or NULL (out of memory). */
char *cd_prom_text(struct cd *d);

/* cd_commit.c: the confirm timer */
void cd_confirm_tick(struct cd *d);
int cd_confirm_startup(struct cd *d);

/* Builds the tables C configures; "geo" error when it cannot. */
int cd_geo_compile(const struct conf *c, struct geo_db *db, struct cd_err *e);
/* Every override's prefix resolves in G as configured; -1 with WHY. */
int cd_geo_canaries(const struct conf *c, const struct geo_tables *g, char *why,
    size_t len);

/*
 * cd_geo_static.c: the last good tables in the state folder.  fallback:
 * after cd_geo_compile failed with E, the saved tables of C's databases
 * into DB, alarm raised; else -1 with E saying both.  fresh: the running
 * tables were just compiled (alarm cleared, tables kept).
 */
void cd_geo_saved_path(const struct cd *d, char *out, size_t len);
int cd_geo_fallback(struct cd *d, const struct conf *c, struct geo_db *db,
    struct cd_err *e);
void cd_geo_fresh(struct cd *d);
void cd_geo_saved_probe(struct cd *d);

/* cd_lookup.c: how explain names a classifier verdict V of policy POL:
 * the rule ("(unidentified)", "(knock)", "(default)" when none), and why. */
struct cls_verdict;
const char *cd_verdict_rule(const struct policy *pol,
    const struct cls_verdict *v);
const char *cd_verdict_detail(const struct cls_verdict *v);

/*
 * cd_explain_prx.c: explain's "reported" hops (docs/proxies.md): M made
 * the meta a proxied flow's packets are judged as, when its service is
 * proxied and its sender trusted; WHY says what was done (NULL: no
 * "reported").  0, or -1 with E set.
 */
int cd_explain_reported(const struct policy *pol, const json_t *args,
    struct pkt_meta *m, const char **why, struct cd_err *e);
/* A trusted relay's packet that cordon-dp refuses uninspected (tunnelled,
 * fragmented): V becomes that refusal and WHY says so. */
void cd_explain_uninspected(const struct policy *pol, const struct pkt_meta *m,
    struct cls_verdict *v, const char **why);

/*
 * A policy swap, as the counters see it (cd_rulectr.c): before it,
 * NOW (what the backend counts, or NULL if it cannot say) is credited
 * to the rules that held the positions; after it, with BASE taken,
 * the running policy's rules take their histories.
 */
void cd_rulectr_swap_begin(struct cd *d, const struct stats *now);
void cd_rulectr_swap_end(struct cd *d, const struct cd_running *r);
void cd_rulectr_annotate(struct cd *d, json_t *rules);
/*
 * Before a swap's fold: the enforcer as the counters file names it
 * (cordon-dp by pid and start time, nftables by boot), and whether the
 * restored bases hold for it (cd_rulectr_resume).
 */
enum cd_rulectr_resume cd_rulectr_swap_resume(struct cd *d);
/* counters.json in the state folder: read at start, written after
 * every change of the entries (a failure is logged, not fatal; save:
 * -1 then, for clear counters to refuse). */
void cd_rulectr_restore(struct cd *d);
int cd_rulectr_save(struct cd *d);
/* Shutdown: what was counted since the last swap folded and saved. */
void cd_rulectr_shutdown(struct cd *d);

/*
 * cd_ruleid.c: stable rule ids.  N's rules get theirs: a name IDS pins
 * (id 0: a new rule) first, then the id of the rule of the same name in
 * RUN (NULL: none), else a new one; never one id twice.
 */
void cd_ruleid_assign(struct cd *d, struct cd_running *n, const json_t *ids,
    const struct cd_running *run);
/* R's ids as {"name": id}, for the revision's metadata and pins. */
json_t *cd_ruleid_json(const struct cd_running *r);
/* Start-up: the running revision's ids (its metadata, else the saved
 * counters' names), the next id past every kept revision's. */
void cd_ruleid_startup(struct cd *d);
/*
 * For compare: DATA gains "renames" ({rule, was, id}: a rule of UID's
 * candidate TEXT that takes the id of a running rule of another name)
 * when there are any.
 */
void cd_ruleid_review(struct cd *d, uid_t uid, const char *text, json_t *data);
/* rename rule OLD to NEW in the caller's candidate (cd_rename.c), and
 * clear counters [rule NAME] (cd_clear.c). */
int cd_cmd_rename(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e);
int cd_cmd_clear(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e);

#endif
