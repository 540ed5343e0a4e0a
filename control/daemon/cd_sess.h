/*
 * cordond's identity sessions (cd_sess*.c): the grants it made, the
 * shared session table the fast path reads (core/sess), the token
 * issuers, and knocks.  docs/identity.md.
 */
#ifndef CORDON_CD_SESS_H
#define CORDON_CD_SESS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "control/ident/idm.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"
#include "control/proc/proc.h"
#include "core/sess/sess.h"

struct cd;
struct cd_err;
struct proc_hdr;
struct cd_running;

/* One session: a verified token, for one source, on some services. */
struct cd_grant {
	uint32_t sid;
	uint32_t ident; /* its rule bits in the table */
	uint8_t af;
	uint8_t addr[16];
	char src[48];
	uint64_t svcs;      /* service indexes of the running config */
	uint64_t svcs_next; /* the same services in a commit's config */
	char iss_name[32];
	char sub[128];
	char jti[128];
	int64_t created; /* wall clock, for show */
	/* Boot time (cd_clock.c), as in the shared table: granted, and the
	 * end, which only ever moves earlier (cd_sess_clock). */
	int64_t born, ends;
	char via[8]; /* "push" or "knock" */
	json_t *claims;
	struct idm_facts facts;      /* points into CLAIMS */
	uint32_t src_next, sub_next; /* index chains (cd_sess_idx.c) */
};

#define CD_IDX_END UINT32_MAX

/* One issuer's JWKS documents, as bytes (never parsed by cordond). */
struct cd_iss_keys {
	char name[CONF_NAME_MAX];
	char *file; /* jwks_file's bytes, or NULL */
	size_t file_len;
	char *uri; /* the last good jwks_uri document (or the cache) */
	size_t uri_len;
	char *pend; /* a fetched one the identity child is judging */
	size_t pend_len;
	uint32_t pend_id;   /* its KEYS request id */
	uint32_t fetch_id;  /* the FETCH in flight; 0: none */
	int64_t next_fetch; /* clk_mono_ms */
	unsigned nkeys;     /* usable keys, as the child counted them */
};

/*
 * A knock sent to the identity child: its source as cordon-dp saw it,
 * and what this side read of the datagram itself (knock_fixed_read), so
 * that the child's answer is checked against the datagram, not believed.
 */
#define CD_KNOCK_PEND 64
struct cd_knock_pend {
	uint32_t id; /* 0: free */
	uint8_t af;
	uint8_t src[16];
	bool fixed_ok; /* F read; else no answer but a refusal is true */
	struct knock_fixed f;
};

struct cd_sessions {
	struct cd *d; /* the daemon, for the kernel's sets */
	struct sess_table *t;
	int fd;
	struct sess_table *next; /* being pushed with a commit */
	int next_fd;
	unsigned cap;
	struct cd_grant **g; /* by ident */
	unsigned n;
	uint32_t next_sid;
	/*
	 * Free ident slots, first freed first reused, each held back for
	 * CD_SESS_HOLD_S: a worker may still be reading a revoked
	 * session's bits (docs/identity.md).
	 */
	uint32_t *freeq;
	int64_t *freed_at; /* by ident */
	unsigned fhead, nfree;
	/* Grants by source and by subject: the per-grant checks must not
	 * scan them all (cd_sess_idx.c). */
	uint32_t *src_head, *sub_head;
	uint32_t hmask;
	uint8_t hkey[16];
	/* The running issuers' key documents (cd_sess_ident.c): the
	 * identity child parses them, this side only keeps the bytes. */
	struct cd_iss_keys ikeys[CONF_ISSUER_MAX];
	unsigned nikeys;
	const struct conf *ident_conf; /* whose issuers they are */
	uint64_t ident_rev;
	struct cd_knock_pend kpend[CD_KNOCK_PEND];
	/* Ids of knocks given up unanswered (their kpend slot was taken by
	 * a newer one): a late answer to one of these is no lie. */
	uint32_t kgone[CD_KNOCK_PEND];
	/* The identity child's judgement of a knock (KNOCKED): set by
	 * cd_knock_open (cd_knock_done); 0, or -1 when it does not decode. */
	int (*knock_done)(struct cd *d, const struct proc_hdr *h,
	    const uint8_t *p);
	uint32_t knock_id;
	bool next_on; /* a commit is being prepared */
	int64_t next_sweep;
	uint32_t gcursor, tcursor; /* where the sweeps go on */
	/* The journal (cd_sess_journal.c, docs/identity.md). */
	char journal[CONF_PATH_MAX + 32];
	int jfd;           /* for appending */
	uint64_t jrecords; /* records in it */
	int64_t jend;      /* end of its last whole record */
	int64_t jresv;     /* space reserved up to here */
	bool jnoresv;      /* the file system cannot reserve */
	bool jdirty;       /* records written, not yet synced */
	bool jrewrite;     /* only a rewrite can make it true */
	bool restoring;    /* replaying it: no records */
	uint32_t *jpend;   /* ended sessions not yet journaled */
	unsigned njpend, jpcap;
	int64_t jalarm;             /* since when it lags; 0: it does not */
	int64_t jretry_ms;          /* no rewrite before (clk_mono_ms) */
	char jerr[96];              /* why */
	uint64_t jskipped, jfailed; /* bad records at start-up, failed
					 * appends since */
	struct knock_ctx *knock;
	bool nearly_full; /* the high-water alarm was raised */
	/* counters: cordonctl show sessions, SNMP */
	uint64_t added, refused, revoked, expired, full, quota;
	uint64_t reason[JOSE_REASON_MAX];
};

/* cd_sess.c */
int cd_sess_open(struct cd *d);
void cd_sess_close(struct cd *d);
const struct sess_table *cd_sess_table(const struct cd *d);
void cd_sess_tick(struct cd *d);
/*
 * Around a commit's push of N: new table for N, then switch or abort.
 * The table goes to the enforcer through the backend (cd_backend.h:
 * sess_table, then activate), never to the dataplane directly.
 */
int cd_sess_prepare(struct cd *d, const struct cd_running *n, struct cd_err *e);
void cd_sess_switch(struct cd *d);
void cd_sess_abort(struct cd *d);
/*
 * The table's high-water alarm (cordonSessionTableNearlyFull, syslog
 * session-table-nearly-full): raised once when it reaches
 * CD_SESS_HIGH_PCT % of its capacity, re-armed (session-table-cleared)
 * when it falls under CD_SESS_LOW_PCT %.  Called where the count changes
 * and each tick (a restored table is judged once the daemon runs).
 */
#define CD_SESS_HIGH_PCT 90
#define CD_SESS_LOW_PCT  80
void cd_sess_watermark(struct cd_sessions *s);
/*
 * Verifies TOKEN and grants SRC a session (SVC: one service, or NULL:
 * every identity service; TTL 0: the longest allowed).  VIA "push" or
 * "knock".  0 with *OUT set (borrowed), or -1 with E.
 */
int cd_sess_grant(struct cd *d, const char *token, size_t len, const char *src,
    const char *svc, unsigned ttl, const char *via, struct cd_grant **out,
    struct cd_err *e);
/*
 * cd_sess_grant for a token already judged: P a proposal the parent
 * checked (cd_idprop_check), e.g. a knock's.
 */
struct cd_idprop;
int cd_sess_grant_prop(struct cd *d, const struct cd_idprop *p, const char *src,
    const char *svc, unsigned ttl, const char *via, struct cd_grant **out,
    struct cd_err *e);
json_t *cd_grant_json(const struct cd *d, const struct cd_grant *g);
/*
 * A grant's end in boot time: the earliest of BORN + max_ttl, BORN + TTL
 * (0: none), and the token's exp judged on the wall clock (NOW_UNIX at
 * boot time NOW_BOOT).
 */
int64_t cd_grant_expiry(const struct conf *c, const json_t *claims,
    unsigned ttl, int64_t born, int64_t now_unix, int64_t now_boot);
/*
 * G's end (boot time) shortened to what the wall clock now says of its
 * token's exp, and with PUT its entries in the table (and the kernel's
 * set) too; true when G has ended.
 */
bool cd_sess_clock(struct cd *d, struct cd_grant *g, int64_t now_unix,
    int64_t now_boot, bool put);
/* The journal's time members of G: into O, and back (cd_clock.c). */
void cd_grant_clock_put(const struct cd_grant *g, json_t *o);
void cd_grant_clock_get(struct cd_grant *g, const json_t *o);

#define CD_SESS_HOLD_S 2

/*
 * cd_sess_nft.c: the same grant as elements (source, port) of the
 * kernel's sessions set, when nftables enforces (backend nftables, or
 * host protection): ADD with the time left, or withdrawn.
 */
void cd_grant_nft(struct cd *d, const struct cd_grant *g, bool add);
/*
 * A commit to NC is in force in the kernel, whose new table got every
 * element back: withdraw those of ports that no service of a grant names
 * in NC (a service that moved, or left identity.services), which would
 * otherwise open them to whatever identity service takes them next.
 * Called before the running config becomes NC.
 */
void cd_grant_nft_gone(struct cd *d, const struct conf *nc);
/*
 * The ports of SVCS (indexes of OLD) that no service of SVCS_NEXT
 * (indexes of NC) names, into OUT (at most MAX): how many.
 */
unsigned cd_grant_ports_gone(const struct conf *old, uint64_t svcs,
    const struct conf *nc, uint64_t svcs_next, uint16_t *out, unsigned max);
/* The country of G's source address in T. */
geo_cc_t cd_grant_cc(const struct geo_tables *t, const struct cd_grant *g);

/* cd_sess_idx.c */
int cd_idx_init(struct cd_sessions *s);
void cd_idx_free(struct cd_sessions *s);
void cd_idx_link(struct cd_sessions *s, struct cd_grant *g);
void cd_idx_unlink(struct cd_sessions *s, struct cd_grant *g);
/* First grant of the chain of G's source / subject, or NULL. */
struct cd_grant *cd_idx_src(const struct cd_sessions *s, const uint8_t *addr,
    uint8_t af);
struct cd_grant *cd_idx_sub(const struct cd_sessions *s, const char *iss,
    const char *sub);
struct cd_grant *cd_idx_next(const struct cd_sessions *s, uint32_t i);

/* cd_sess_grant.c */
uint64_t cd_svcs_remap(const struct conf *from, const struct conf *to,
    uint64_t svcs);

/*
 * cd_sess_journal.c, cd_sess_jload.c: the sessions journal.  Each record
 * is a line "HASH JSON" (HASH: 16 hex digits of the SHA-256 of JSON), so
 * a torn or damaged one is recognised and skipped on replay.
 */
void cd_sess_journal_load(struct cd *d);
/* Rewrites it with the grants in force (temp file, fsync, rename). */
int cd_sess_journal_save(struct cd *d);
/* G's record, durable (synced) before G may be enforced: 0, or -1 with
 * errno and nothing to enforce. */
int cd_journal_add(struct cd *d, const struct cd_grant *g);
/* Would G's record fit (space reserved, no ending waiting)?  0, or -1
 * with errno: asked before G replaces anything. */
int cd_journal_room(struct cd *d, const struct cd_grant *g);
/* Session SID ended; kept for a retry (and the alarm raised) when the
 * record cannot be written.  Made durable by cd_journal_sync. */
void cd_journal_del(struct cd_sessions *s, uint32_t sid);
/* Makes the records so far durable: 0, or -1 (alarm raised). */
int cd_journal_sync(struct cd_sessions *s);
void cd_journal_tick(struct cd *d);
/* One journal line for REC (consumed): "HASH JSON\n", malloc'd, or NULL. */
char *cd_journal_line(json_t *rec, size_t *len);
json_t *cd_journal_rec(const struct cd *d, const struct cd_grant *g);
/* A line's record, or NULL when it is torn or damaged. */
json_t *cd_journal_parse(const char *line, size_t len);
int cd_journal_reopen(struct cd_sessions *s);
/* G's entries in T take its end again (a shorter one). */
void cd_grant_reput(struct sess_table *t, const struct cd_grant *g);
/* Removes a grant: its entries go from the table at once. */
void cd_sess_drop(struct cd_sessions *s, struct cd_grant *g, bool unput);
/* Removes a grant: its entries leave the table at once. */
void cd_sess_revoke_one(struct cd *d, struct cd_grant *g);
int cd_grant_put(struct sess_table *t, const struct cd_grant *g,
    const struct pol_set *bits);
int cd_sess_slot(struct cd_sessions *s);
/* Back on the free queue, held for CD_SESS_HOLD_S. */
void cd_sess_free_slot(struct cd_sessions *s, uint32_t j);
void cd_grant_free(struct cd_grant *g);
/* A journal entry G (src, svcs, claims, expires set) back in force. */
int cd_sess_restore(struct cd *d, struct cd_grant *g, int issuer,
    const json_t *o, struct cd_err *e);
void cd_grant_unput(struct sess_table *t, const struct cd_grant *g);

/* cd_sess_knock.c */
int cd_knock_open(struct cd *d);
struct dpc_msg_knock;
void cd_knock_in(void *arg, const struct dpc_msg_knock *k);
void cd_knock_close(struct cd *d);

/*
 * cd_explain_id.c: explain's "identity" object, or NULL (no token, and
 * GATE false: the classifier asks this flow for no session).  V is the
 * classifier's verdict for M in direction DIR.
 */
struct pkt_meta;
struct cls_verdict;
json_t *cd_explain_identity(struct cd *d, const json_t *args,
    const struct pkt_meta *m, unsigned dir, const struct cls_verdict *v,
    bool gate);
/*
 * The session the classifier finds for M's source and service SVC at
 * NOW: its rule bits (NULL: none in force) and its grant in *G.
 */
const uint64_t *cd_explain_session(const struct cd *d, const struct pkt_meta *m,
    unsigned svc, int64_t now, const struct cd_grant **g);

/* cd_sess_ident.c: issuers and their keys */
struct cd_idprop;
/*
 * The running config's issuers: their documents read (jwks_file, the
 * jwks_uri cache), sent to the identity child, fetches scheduled.
 */
void cd_ident_load(struct cd *d);
void cd_ident_unload(struct cd_sessions *s);
/* Index of the issuer named NAME in C, or -1. */
int cd_ident_find(const struct conf *c, const char *name);
/* Fetches due (FORCE: all now); never waits for one. */
void cd_ident_refresh(struct cd *d, bool force);
/*
 * Would TOK (LEN bytes, NULs included) open a session now?  Asks the
 * identity child (a call of at most CD_IDENT_TIMEOUT_MS) and checks its
 * proposal: P's rc is the reason (JOSE_LEEWAY_ONLY when exp has passed;
 * CD_IDENT_DOWN when no identity child answered), P->claims set on
 * JOSE_OK (free with cd_idprop_free).  Counts nothing: explain asks it.
 */
int cd_ident_check(struct cd *d, const char *tok, size_t len,
    struct cd_idprop *p);
/* cd_ident_check for a grant: a refusal is counted, logged, and in E
 * (token-refused, or identity-unavailable).  0 or -1 (P freed). */
int cd_ident_verify(struct cd *d, const char *tok, size_t len,
    struct cd_idprop *p, struct cd_err *e);
/* Counts and logs refusal RC of a token to be granted; -1 with E. */
int cd_ident_refuse(struct cd *d, int rc, const char *detail, struct cd_err *e);
/* The last second a session from CLAIMS may last: their exp. */
int64_t cd_ident_exp(const json_t *claims, int64_t now);

/* cd_proc_ident.c: the identity and fetch children, parent side */
/* The config and every document to the identity child (if up). */
void cd_ident_send_all(struct cd *d);
/* Issuer I's document of source SRC to the identity child. */
void cd_ident_send_keys(struct cd *d, unsigned i, unsigned src, const char *doc,
    size_t len, uint32_t id);
/* A FETCH of issuer I's jwks_uri, if the fetch child is up. */
void cd_ident_fetch(struct cd *d, unsigned i);
/* A child of cordond if running and READY (proc_get), else NULL. */
struct proc_child *cd_ident_child(struct cd *d, enum proc_id id);
/* A request id of ours (never one of proc_call's). */
uint32_t cd_ident_reqid(struct cd_sessions *s);
/* The jwks_uri cache file of issuer NAME. */
void cd_ident_cache_path(const struct cd *d, const char *name, char *out,
    size_t len);

#endif
