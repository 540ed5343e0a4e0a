/*
 * Wire format of the dataplane channel (docs/control.md, section 1):
 * what cordon-dp (dataplane/ctl) and cordond (control/dpc) exchange over
 * a SOCK_SEQPACKET Unix socket.  One message per packet: a fixed header,
 * then a fixed-size payload for its type.  Little-endian, explicit
 * padding, sizes pinned by static asserts; no pointers, no variable
 * parts.  File descriptors travel as SCM_RIGHTS.  Pure C, no DPDK.
 */
#ifndef CORDON_DPC_PROTO_H
#define CORDON_DPC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define DPC_MAGIC         0x31504443u /* "CDP1" as bytes on the wire */
#define DPC_PROTO_VERSION 4
#define DPC_MSG_MAX       4096u /* header + payload, either direction */
#define DPC_MSG_FDS       3u    /* at most, per message */
/* The system user cordon-dp's steady state runs as (cordon-dp(8),
 * SANDBOX): cordond makes it, cordon-dp takes it. */
#define DPC_DP_USER "cordon-dp"
/* cordond's children's root (control/proc, PROC_EMPTY_DIR): root's and
 * empty, never a folder cordon-dp takes over. */
#define DPC_EMPTY_DIR  "/run/cordon/empty"
#define DPC_WIRE_HASH  32
#define DPC_WIRE_PORTS 16
#define DPC_WIRE_NAME  32
#define DPC_WIRE_TEXT  256

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "the channel's structs are little-endian and sent as they are");

enum dpc_type {
	DPC_HELLO = 1,    /* none -> HELLO_REPLY + counters memfd */
	DPC_HELLO_REPLY,  /* struct dpc_msg_status */
	DPC_LOAD,         /* struct dpc_msg_load + 1 or 2 memfds */
	DPC_LOAD_REPLY,   /* struct dpc_msg_result */
	DPC_STATUS,       /* none -> STATUS_REPLY */
	DPC_STATUS_REPLY, /* struct dpc_msg_status */
	DPC_ERR,          /* struct dpc_msg_result */
	DPC_EVENT,        /* dp -> d, unsolicited: struct dpc_msg_event */
	DPC_KNOCK,        /* dp -> d, unsolicited: struct dpc_msg_knock */
	DPC_EVIDENCE,     /* dp -> d, unsolicited: struct dpc_msg_evidence */
	DPC_SYSLOG,       /* struct dpc_msg_syslog -> SYSLOG_REPLY */
	DPC_SYSLOG_REPLY, /* struct dpc_msg_result */
	DPC_TYPE_MAX
};

struct dpc_hdr {
	uint32_t magic; /* DPC_MAGIC */
	uint16_t type;  /* enum dpc_type */
	uint16_t flags; /* 0 */
	uint32_t len;   /* payload bytes after the header */
	uint32_t seq;   /* replies echo the request's */
};

struct dpc_msg_status {
	uint32_t version; /* DPC_PROTO_VERSION */
	uint32_t pid;
	uint64_t revision;
	uint8_t policy_hash[DPC_WIRE_HASH];
	uint8_t geo_hash[DPC_WIRE_HASH];
	uint64_t started_unix_ns;
	uint64_t activated_unix_ns;
	uint32_t workers;
	uint32_t nports;
	uint32_t stats_size;  /* sizeof(struct stats): layout check */
	uint32_t stats_count; /* struct stats in the counters memfd */
	uint32_t pol_layout;  /* POL_LAYOUT_VERSION it accepts */
	uint32_t pol_size;    /* sizeof(struct policy) it accepts */
	/* sizeof(struct top_sketch): STATS_COUNT of them follow the
	 * counters in their memfd (core/top, since version 4) */
	uint32_t top_size;
	uint16_t sandbox;  /* 1: cordon-dp(8) SANDBOX, 0: --no-sandbox */
	uint16_t landlock; /* the sandbox's Landlock ABI, 0: without */
	char port[DPC_WIRE_PORTS][DPC_WIRE_NAME];
};

/*
 * Followed by the policy memfd, then the geo memfd when HAS_GEO, then
 * the session table memfd when HAS_SESS (core/sess: cordond keeps
 * writing it, so it is sealed against resizes only).
 */
struct dpc_msg_load {
	uint32_t version;                   /* DPC_PROTO_VERSION */
	uint32_t pol_layout;                /* POL_LAYOUT_VERSION */
	uint64_t revision;                  /* > 0 */
	uint8_t policy_hash[DPC_WIRE_HASH]; /* SHA-256, checked */
	uint8_t geo_hash[DPC_WIRE_HASH];    /* opaque, reported back */
	uint64_t pol_size;                  /* sizeof(struct policy) */
	uint64_t geo_size;                  /* blob bytes; 0 without geo */
	uint32_t has_geo;                   /* 0: keep the current tables */
	uint32_t has_sess; /* 0: keep the current session table */
};

struct dpc_msg_result {
	int32_t error; /* 0 or an errno value */
	uint32_t pad;
	uint64_t revision;           /* active after this request */
	uint64_t activated_unix_ns;  /* LOAD: when it went live */
	uint64_t apply_ns;           /* LOAD: receipt to grace period, ns */
	char message[DPC_WIRE_TEXT]; /* NUL-terminated */
};

/*
 * One log event (a packet decided by a rule with log = true), as the
 * main lcore sends it to the client.  COUNT identical events drained in
 * the same tick are folded into one.
 */
#define DPC_EV_PORTS 0x01 /* sport/dport are TCP/UDP ports */
#define DPC_EV_FRAG  0x02 /* a fragment */

struct dpc_wire_event {
	uint8_t src[16]; /* IPv4: the first 4 bytes, network order */
	uint8_t dst[16];
	uint16_t sport; /* host order; ICMP: type << 8 | code */
	uint16_t dport;
	uint8_t af;      /* 4 or 6 */
	uint8_t proto;   /* IPPROTO_* */
	uint8_t action;  /* enum cdn_action */
	uint8_t reason;  /* enum cdn_reason */
	uint16_t src_cc; /* geo_cc_t */
	uint16_t dst_cc; /* geo_cc_t; 0 when no rule looks at it */
	uint16_t rule;   /* rule position - 1, or 0xffff: the default */
	uint8_t service; /* policy service index, or 0xff: none */
	uint8_t port;    /* ingress: cordon-dp's (config) port index */
	uint32_t count;  /* >= 1 */
	uint8_t flags;   /* DPC_EV_* */
	/* Tunnels: the innermost source and its country; af 0: none. */
	uint8_t origin_af;
	uint16_t origin_cc; /* geo_cc_t */
	uint64_t unix_ns;   /* when the main lcore drained it */
	uint8_t origin[16]; /* IPv4: the first 4 bytes, network order */
};

/*
 * A knock (docs/knock.md): a UDP datagram to policy.knock_port, arriving
 * on an outside port, handed over whole.  Never forwarded.
 */
#define DPC_KNOCK_MAX 3800

struct dpc_msg_knock {
	uint8_t src[16]; /* IPv4: the first 4 bytes, network order */
	uint8_t af;      /* 4 or 6 */
	uint8_t port;    /* ingress, config port index */
	uint16_t len;    /* bytes of DATA used */
	uint16_t sport;
	uint16_t pad;
	uint64_t unix_ns; /* when the main lcore drained it */
	uint8_t data[DPC_KNOCK_MAX];
};

/*
 * Evidence captures (docs/evidence.md): what syslog says of the pcap
 * files cordon-dp writes.  FILE is a name in the evidence folder.
 */
enum dpc_evid_kind {
	DPC_EVID_OPENED = 1, /* FILE is written from now on */
	DPC_EVID_FLOW,       /* EV's flow: its first packet is in FILE */
	DPC_EVID_FAILED,     /* writing stopped (ERROR): records are lost */
	DPC_EVID_RESUMED,    /* writing works again, into FILE */
	DPC_EVID_REMOVED,    /* FILE removed: too many files, or too old */
};

struct dpc_msg_evidence {
	uint32_t kind;            /* enum dpc_evid_kind */
	int32_t error;            /* FAILED: an errno value */
	char file[64];            /* NUL-terminated */
	struct dpc_wire_event ev; /* FLOW only */
};

/*
 * cordond's syslog targets and limits (control.logging), handed over at
 * every connection, so that cordon-dp can send its own packet records
 * while cordond is down (docs/control.md, "While cordond is down").
 * Every target is listed; cordon-dp uses the local and udp ones.
 */
#define DPC_SYSLOG_TARGETS 8
#define DPC_SYSLOG_ADDR    112

enum dpc_log_type {
	DPC_LOG_LOCAL = 1, /* unix datagram socket: ADDRESS is its path */
	DPC_LOG_UDP,       /* ADDRESS a numeric IPv4 or IPv6 address */
	DPC_LOG_TCP,       /* not used by cordon-dp */
	DPC_LOG_TLS,       /* not used by cordon-dp */
};

struct dpc_wire_log_target {
	uint32_t type;                 /* enum dpc_log_type */
	uint32_t port;                 /* udp, tcp, tls: 1-65535 */
	char address[DPC_SYSLOG_ADDR]; /* NUL-terminated */
};

struct dpc_msg_syslog {
	uint32_t version;  /* DPC_PROTO_VERSION */
	uint32_t facility; /* 0-23 */
	uint32_t rate;     /* packet records per second (and as deep) */
	uint32_t ntargets; /* 0..DPC_SYSLOG_TARGETS: 0 turns it off */
	struct dpc_wire_log_target target[DPC_SYSLOG_TARGETS];
};

#define DPC_EVENT_BATCH 50

struct dpc_msg_event {
	uint32_t n; /* events used, 1..DPC_EVENT_BATCH */
	uint32_t pad;
	struct dpc_wire_event ev[DPC_EVENT_BATCH];
};

_Static_assert(sizeof(struct dpc_wire_event) == 80, "dpc_wire_event");
_Static_assert(sizeof(struct dpc_msg_event) + 16 <= DPC_MSG_MAX,
    "dpc_msg_event");
_Static_assert(sizeof(struct dpc_hdr) == 16, "dpc_hdr");
_Static_assert(sizeof(struct dpc_msg_knock) + 16 <= DPC_MSG_MAX,
    "dpc_msg_knock");
_Static_assert(sizeof(struct dpc_msg_status) == 640, "dpc_msg_status");
_Static_assert(sizeof(struct dpc_msg_evidence) == 152, "dpc_msg_evidence");
_Static_assert(sizeof(struct dpc_msg_load) == 104, "dpc_msg_load");
_Static_assert(sizeof(struct dpc_msg_result) == 288, "dpc_msg_result");
_Static_assert(sizeof(struct dpc_msg_syslog) == 16 + 8 * 120, "dpc_msg_syslog");

/* Payload bytes a message of TYPE must carry, or -1 for an unknown type. */
long dpc_msg_payload_size(unsigned type);

/*
 * Writes header + payload into BUF (at least DPC_MSG_MAX bytes); returns
 * the message length, or -1 (EMSGSIZE) when LEN does not fit.
 */
long dpc_msg_pack(void *buf, unsigned type, uint32_t seq, const void *payload,
    size_t len);

/*
 * Checks a received message of N bytes: header, magic, flags, length,
 * and the payload size of its type.  0, or -1 with a reason in ERR.
 * HDR gets whatever header could be read (seq 0 if none).
 */
int dpc_msg_check(const void *buf, size_t n, struct dpc_hdr *hdr, char *err,
    size_t errlen);

/*
 * Checks a received SYSLOG message: version, facility, rate, count, and
 * every target's type, port and address (terminated; a udp address
 * numeric).  0, or -1 with a reason in ERR.
 */
int dpc_syslog_check(const struct dpc_msg_syslog *m, char *err, size_t errlen);

/* Fills R (zeroed first) with ERROR and a printf-style message. */
void dpc_result_set(struct dpc_msg_result *r, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* SHA-256 of LEN bytes at P (dpc_hash.c, OpenSSL). 0, or -1: OUT zeroed. */
int dpc_sha256(const void *p, size_t len, uint8_t out[DPC_WIRE_HASH]);

struct policy;
/* SHA-256 of the flat policy, as cordon-dp reports it (dpc_hash.c). */
void dpc_policy_hash(const struct policy *p, uint8_t out[DPC_WIRE_HASH]);

#endif
