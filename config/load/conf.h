/*
 * Configuration: libconfig text -> these plain structs -> validation.
 * Nothing here knows about DPDK; the policy compiler (config/policy)
 * turns a validated struct conf into the fast path's struct policy.
 * Every error is reported as "file:line: message".
 */
#ifndef CORDON_CONF_H
#define CORDON_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/load/conf_logging.h"
#include "config/geo/geo_build.h"
#include "config/load/knock_nat.h"
#include "core/geo/geo.h"

#define CONF_NAME_MAX     32
#define CONF_PATH_MAX     256
#define CONF_REGION_MAX   64
#define CONF_SERVICE_MAX  64
#define CONF_NEXTHOP_MAX  16
#define CONF_PORT_MAX     16
#define CONF_RULE_MAX     256
#define CONF_OVERRIDE_MAX 4096
#define CONF_RANGE_MAX    16
#define CONF_EAL_MAX      32
#define CONF_REF_MAX      64 /* src or dst items per rule */
#define CONF_FILE_MAX     16 /* files that hold rules */
#define CONF_DPARGS_MAX   32 /* control.dp_args items */

/*
 * Set of country indexes, GEO_CC_UNKNOWN (bit 0) included, and of relay
 * classes (geo_cls_t bits, geo.classes): an address is in the set when
 * its country or one of its classes is.  Regions hold no classes.
 */
#define CONF_CC_WORDS ((GEO_CC_MAX + 63) / 64)
struct conf_ccset {
	uint64_t w[CONF_CC_WORDS];
	geo_cls_t cls;
};

/* Protocol bits used by services and rules. */
#define CONF_P_TCP   0x01
#define CONF_P_UDP   0x02
#define CONF_P_ICMP  0x04 /* ICMP and ICMPv6 */
#define CONF_P_OTHER 0x08 /* any other IP protocol */
#define CONF_P_ANY   0x0f

struct conf_range {
	uint16_t lo, hi;
};

struct conf_region {
	char name[CONF_NAME_MAX];
	struct conf_ccset cc;
	int line;
};

struct conf_service {
	char name[CONF_NAME_MAX];
	uint8_t protos;   /* CONF_P_TCP | CONF_P_UDP */
	unsigned nranges; /* destination ports */
	struct conf_range range[CONF_RANGE_MAX];
	unsigned nsranges; /* source ports ("sports"); may be 0 */
	struct conf_range srange[CONF_RANGE_MAX];
	uint8_t proxy; /* enum prx_mode: what its relays put first */
	int line;
};

enum conf_role { CONF_ROLE_OUTSIDE, CONF_ROLE_INSIDE, CONF_ROLE_OTHER };

struct conf_port {
	char name[CONF_NAME_MAX];
	char device[128];  /* DPDK device name, e.g. "net_af_packet0" */
	char devargs[256]; /* optional vdev args: added as --vdev */
	enum conf_role role;
	int peer; /* index of the paired port, or -1 */
	int line;
	char ifname[16]; /* backend nftables: the kernel interface */
};

struct conf_nexthop {
	char name[CONF_NAME_MAX];
	int port; /* index into ports[] */
	uint8_t mac[6];
	int vlan; /* 1..4094 to push a tag, -1 for none */
	int line;
	/* backend nftables (config/load/conf_nft.c): policy routing */
	bool has_addr4, has_addr6;
	uint8_t addr4[4]; /* network order */
	uint8_t addr6[16];
	unsigned table;  /* routing table; 0: 2000 + index */
	uint32_t fwmark; /* 0: 0x0c0d0001 + index */
};

/*
 * identity (config/load/conf_ident.c): who may reach the services that need a
 * person behind them.  Tokens from these issuers open sessions; rules may
 * match what the token says (struct conf_idmatch).  docs/identity.md.
 */
#define CONF_ISSUER_MAX    8
#define CONF_AUD_MAX       8
#define CONF_CLAIM_LEN     64 /* a claim name */
#define CONF_CCLAIM_MAX    4  /* declared-country claim names */
#define CONF_IDVAL_MAX     8  /* values in one identity list */
#define CONF_IDVAL_LEN     96
#define CONF_IDCLAIM_MAX   4 /* claim matchers per rule */
#define CONF_ACT_DEPTH_MAX 8

/* Signature algorithms, in enum jose_alg's order (control/ident/jose.h). */
#define CONF_ALGS(X) X(RS256) X(PS256) X(ES256) X(ES384) X(EdDSA)

struct conf_issuer {
	char name[CONF_NAME_MAX];
	char iss[256];
	unsigned naud;
	char aud[CONF_AUD_MAX][128];
	unsigned algs;                 /* bit per CONF_ALGS entry */
	unsigned leeway;               /* s of clock skew */
	unsigned max_token;            /* bytes */
	unsigned max_lifetime;         /* s, exp - iat */
	unsigned refresh;              /* s between jwks_uri fetches */
	char jwks_file[CONF_PATH_MAX]; /* absolute after loading */
	char jwks_uri[512];
	char ca_file[CONF_PATH_MAX];
	int line;
};

struct conf_identity {
	int line; /* 0: no identity group */
	unsigned nissuers;
	struct conf_issuer issuers[CONF_ISSUER_MAX];
	char groups_claim[CONF_CLAIM_LEN];
	char roles_claim[CONF_CLAIM_LEN];
	char ip_claim[CONF_CLAIM_LEN];
	unsigned ncountry_claims;
	char country_claims[CONF_CCLAIM_MAX][CONF_CLAIM_LEN];
	unsigned act_depth;  /* actors evaluated, nested */
	uint64_t services;   /* bit i: services[i] needs a session */
	bool gate_out;       /* direction "any": outbound flows too */
	int unident_action;  /* drop, reject or reroute */
	int unident_nexthop; /* reroute: nexthops[] index */
	bool unident_log;
	unsigned capacity;      /* sessions */
	unsigned max_ttl;       /* s: a session's longest life */
	unsigned per_subject;   /* grants one subject may hold */
	unsigned knock_port;    /* UDP; 0: no knocks */
	unsigned knock_max_age; /* s */
	unsigned knock_rate;    /* knocks per second per source */
	unsigned knock_burst;
	bool knock_pop; /* knocks must carry a cnf signature */
	/* NATs a knock's signed address may come through (none: exact). */
	struct knock_nat knock_nat[KNOCK_NAT_MAX];
	unsigned nknock_nat;
};

/* Whose attributes an identity matcher looks at. */
enum conf_who {
	CONF_WHO_SUBJECT, /* the token's subject */
	CONF_WHO_ACTORS,  /* some actor of the act chain */
	CONF_WHO_ANY,     /* the subject or some actor */
	CONF_WHO_ALL,     /* the subject and every actor */
};

struct conf_idlist {
	unsigned n;
	char v[CONF_IDVAL_MAX][CONF_IDVAL_LEN];
};

struct conf_idclaim {
	char name[CONF_CLAIM_LEN];
	struct conf_idlist in;
};

/*
 * A rule's identity block: every condition given must hold (AND); each
 * list matches when one of its values does.  A claim the token lacks
 * never satisfies a condition; a missing location is "unknown".
 */
struct conf_idmatch {
	bool on;
	uint8_t who;      /* enum conf_who */
	uint32_t issuers; /* bit per issuer; 0: any */
	struct conf_idlist sub, groups, roles;
	unsigned nclaims;
	struct conf_idclaim claims[CONF_IDCLAIM_MAX];
	bool has_loc, has_ipcc, has_decl;
	struct conf_ccset loc;  /* ipaddr or declared country */
	struct conf_ccset ipcc; /* the geolocated ipaddr claim */
	struct conf_ccset decl; /* a declared-country claim */
	int8_t relayed;         /* -1: either; 0/1: no / some actor */
	int8_t ip_mismatch; /* -1: either; 1: flow vs ipaddr country differ */
};

enum conf_dir { CONF_DIR_ANY, CONF_DIR_IN, CONF_DIR_OUT };

/* A rule's tunnel classes (`tunnel`): bit i is enum pol_tun i. */
#define CONF_TUN_NONE   0x01 /* carried by no tunnel */
#define CONF_TUN_OPEN   0x02 /* tunnels the parser opened */
#define CONF_TUN_OPAQUE 0x04 /* ends in an encrypted tunnel */
#define CONF_TUN_ALL    0x07

/* The tunnels group (config/load/conf_tun.c): what the parser opens. */
#define CONF_OPAQUE_MAX 8
struct conf_tunnels {
	unsigned depth; /* tunnels nested; deeper: dropped */
	unsigned vxlan, geneve, teredo, dtls; /* UDP ports; 0: off */
	unsigned nopaque;
	uint16_t opaque_udp[CONF_OPAQUE_MAX];
	int line; /* 0 when not written */
};

/*
 * Proxies that report the client (config/load/conf_proxy.c,
 * docs/proxies.md): the relays believed, the bytes read, what an
 * incomplete header and a full table give, and the flow table's size.
 */
#define CONF_TRUST_MAX 64
struct conf_proxies {
	unsigned ntrusted;
	struct geo_override trusted[CONF_TRUST_MAX]; /* cc unused */
	unsigned window;                             /* bytes */
	int incomplete, full;                        /* enum prx_act */
	unsigned flows;                              /* per worker */
	unsigned buffers; /* per worker: headers spanning segments */
	unsigned idle;    /* s */
	int line;         /* 0 when not written */
};

/*
 * The evidence group (config/load/conf_evid.c): what cordon-dp keeps of
 * the flows a rule with `evidence = true` denies or reroutes.
 */
struct conf_evidence {
	unsigned packets;        /* first packets kept per flow */
	unsigned snaplen;        /* bytes kept per packet */
	unsigned flows;          /* flows remembered per worker */
	unsigned flow_idle;      /* s before a quiet flow is forgotten */
	unsigned file_size;      /* KiB a file may reach */
	unsigned files;          /* files kept; the oldest go first */
	unsigned rotate_age;     /* s a file is written to; 0: no limit */
	unsigned max_age;        /* s a file is kept; 0: no limit */
	char dir[CONF_PATH_MAX]; /* "": STATE_DIR/evidence */
	int line;                /* 0 when not written */
};

/* A src/dst item as written, kept so conf_print can show it. */
enum conf_ref_kind {
	CONF_REF_ANY,
	CONF_REF_REGION,
	CONF_REF_CC,
	CONF_REF_SPECIAL, /* the built-in region "special" */
	CONF_REF_CLASS    /* "class:NAME", a relay class (src only) */
};
struct conf_ref {
	uint8_t kind; /* enum conf_ref_kind */
	uint16_t val; /* region or class index, or geo_cc_t */
};
#define CONF_CLASS_PREFIX "class:"

/*
 * One ordered rule.  Unset matchers match everything.  IN is traffic
 * arriving on an outside port (towards the protected side).
 */
struct conf_rule {
	char name[CONF_NAME_MAX];
	bool src_any;
	struct conf_ccset src; /* regions and countries, unioned */
	bool dst_any;
	struct conf_ccset dst;
	unsigned nsrc_ref, ndst_ref;
	struct conf_ref src_ref[CONF_REF_MAX];
	struct conf_ref dst_ref[CONF_REF_MAX];
	/* Tunnels: the innermost source, any layer's, the class.  Zero
	 * (as a rule built by hand has them) is "not given": any. */
	bool has_origin, has_via;
	struct conf_ccset origin, via;
	unsigned norigin_ref, nvia_ref;
	struct conf_ref origin_ref[CONF_REF_MAX];
	struct conf_ref via_ref[CONF_REF_MAX];
	/* Any layer's destination: as dst, countries only. */
	bool has_dst_via;
	struct conf_ccset dst_via;
	unsigned ndst_via_ref;
	struct conf_ref dst_via_ref[CONF_REF_MAX];
	uint8_t tun;       /* CONF_TUN_* bits; 0: all */
	bool svc_any;      /* no services and no ports given */
	uint64_t services; /* bit i: services[i] */
	uint8_t protos;    /* CONF_P_*, effective: with services or
				   ports, only TCP/UDP they name */
	unsigned nports;   /* extra destination ports */
	struct conf_range ports[CONF_RANGE_MAX];
	enum conf_dir dir;
	struct conf_idmatch id; /* identity block; id.on false: none */
	int action;             /* enum cdn_action */
	int nexthop;            /* reroute: index into nexthops[]; else -1 */
	bool log;
	bool evidence; /* first packets of its flows to the pcap files */
	unsigned file; /* index into conf files[] */
	int line;
};

/* control.snmp: the AgentX subagent (control/daemon/cd_snmp.c). */
struct conf_snmp {
	bool enabled;
	char agentx_socket[CONF_PATH_MAX]; /* net-snmp agentXSocket */
	unsigned deny_rate_threshold;      /* denied packets/s; 0: off */
	unsigned ping_interval; /* s between AgentX pings, reconnects */
};

/*
 * The control daemon's own settings (top-level group "control").  Only
 * cordond reads them; cordon-dp accepts and ignores the group.  Paths are
 * absolute, because flattened revisions are loaded from the state folder.
 */
struct conf_control {
	char socket[CONF_PATH_MAX];
	char ro_socket[CONF_PATH_MAX];
	char socket_group[CONF_NAME_MAX];
	char state_dir[CONF_PATH_MAX];
	char dp_socket[CONF_PATH_MAX];
	char dp_binary[CONF_PATH_MAX]; /* "": cordon-dp next to cordond */
	unsigned ndp_args;
	char dp_args[CONF_DPARGS_MAX][128];
	unsigned geo_max_age;      /* days; 0: never stale */
	unsigned geo_min_coverage; /* percent of the previous prefixes */
	unsigned keep_revisions;
	unsigned confirm_default;    /* minutes */
	struct conf_logging logging; /* control.logging (syslog) */
	char prom_listen[64];        /* prometheus.listen; "": off */
	struct conf_snmp snmp;       /* control.snmp */
	int line;                    /* 0 when the group was not written */
	/* control.host_protection (backend dpdk): "" when off */
	char host_if[16];
};

/* Which enforces the policy: cordon-dp, or the kernel (control/nft). */
enum conf_backend { CONF_BACKEND_DPDK, CONF_BACKEND_NFTABLES };

/*
 * A relay class (geo.classes, docs/config.md): bit K of geo_cls_t is
 * classes[K].  Paths absolute after loading; "" when not given.
 */
#define CONF_CLASS_ASN_MAX 256
struct conf_class {
	char name[CONF_NAME_MAX];
	char prefixes[CONF_PATH_MAX];
	char asns[CONF_PATH_MAX];
	unsigned nasn;
	uint32_t asn[CONF_CLASS_ASN_MAX];
	int line;
};

struct conf {
	char file[CONF_PATH_MAX];
	int backend; /* enum conf_backend */
	/* Files rules came from, as errors name them; [0] is the main one. */
	unsigned nfiles;
	char files[CONF_FILE_MAX][CONF_PATH_MAX];

	unsigned ngeo;
	char geo_path[GEO_LAYER_MAX][CONF_PATH_MAX];
	char geo_field[GEO_LAYER_MAX][GEO_FIELD_MAX];
	unsigned noverrides;
	struct geo_override overrides[CONF_OVERRIDE_MAX];
	unsigned nclasses;
	struct conf_class classes[GEO_CLS_MAX];
	char asn_db[CONF_PATH_MAX]; /* geo.asn_database; "" none */

	unsigned nregions;
	struct conf_region regions[CONF_REGION_MAX];
	unsigned nservices;
	struct conf_service services[CONF_SERVICE_MAX];
	unsigned nports;
	struct conf_port ports[CONF_PORT_MAX];
	unsigned nnexthops;
	struct conf_nexthop nexthops[CONF_NEXTHOP_MAX];
	unsigned nrules;
	struct conf_rule rules[CONF_RULE_MAX];

	int default_action;  /* enum cdn_action; allow, drop or reject */
	int nonip_action;    /* allow or drop, for ARP, LLDP, ... */
	int srcroute_action; /* allow or drop, source-routed IP */
	int default_line;    /* 0 when the default was not written */
	bool log_default;

	/* dataplane tuning */
	unsigned neal;
	char eal[CONF_EAL_MAX][128];
	unsigned workers; /* worker lcores; 0 = all but main */
	unsigned burst;
	unsigned mbufs;
	unsigned frag_entries;    /* fragment table entries per worker */
	unsigned frag_timeout_ms; /* a fragmented datagram's lifetime */
	unsigned top_window;      /* seconds: show top's sliding window */

	struct conf_identity identity;
	struct conf_control control;
	struct conf_tunnels tunnels;
	struct conf_proxies proxies;
	struct conf_evidence evidence;
};

/*
 * Loads and validates PATH into C (which the caller allocates: it is
 * large).  Returns 0, or -1 with "file:line: message" in ERR and C
 * untouched: the whole file is validated aside first.
 */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen);

/* Prints the effective policy: regions expanded, rules in order. */
void conf_print(const struct conf *c, FILE *f);

/*
 * The folder of the evidence pcap files: evidence.dir, or the state
 * folder's "evidence".  cordon-dp writes there, cordond lists it.
 */
void conf_evidence_dir(const struct conf *c, char *out, size_t len);

/* Fills the control group's defaults (conf_load does it before parsing). */
void conf_control_defaults(struct conf_control *ctl);
/* Prints the control group's effective settings (cordond -n). */
void conf_control_print(const struct conf_control *ctl, FILE *f);

struct sockaddr_storage;
/*
 * control.prometheus.listen "ADDR:PORT" or "[ADDR6]:PORT", numeric, not
 * a wildcard, into SS / *LEN.  0, or -1 with errno EINVAL and WHY.
 */
int conf_listen_parse(const char *s, struct sockaddr_storage *ss, unsigned *len,
    char *why, size_t whylen);

/* Helpers shared by the loader and the tests. */
static inline void
conf_ccset_add(struct conf_ccset *s, geo_cc_t cc)
{
	s->w[cc / 64] |= 1ULL << (cc % 64);
}

static inline bool
conf_ccset_has(const struct conf_ccset *s, geo_cc_t cc)
{
	return (s->w[cc / 64] >> (cc % 64)) & 1;
}

static inline bool
conf_ccset_empty(const struct conf_ccset *s)
{
	for (unsigned i = 0; i < CONF_CC_WORDS; i++)
		if (s->w[i] != 0)
			return false;
	return true;
}

/* Index of the named port / service / region / nexthop, or -1. */
int conf_port_find(const struct conf *c, const char *name);
int conf_service_find(const struct conf *c, const char *name);
int conf_region_find(const struct conf *c, const char *name);
int conf_class_find(const struct conf *c, const char *name);
/*
 * Adds the built-in region NAME ("special", or one of its sub-regions
 * such as "private") to SET; 1, or 0 when NAME is not built in.
 */
int conf_builtin_add(const char *name, struct conf_ccset *set);
int conf_nexthop_find(const struct conf *c, const char *name);
int conf_issuer_find(const struct conf *c, const char *name);
/* The CONF_ALGS name of bit B, or NULL. */
const char *conf_alg_name(unsigned b);
/* "subject", "actors", "any" or "all". */
const char *conf_who_name(unsigned w);

#endif
