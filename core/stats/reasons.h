/*
 * Verdict vocabulary shared by the parser, the classifier, the counters,
 * the replay output and (later) the CLI and SNMP.  One X-macro list each,
 * so a new reason shows up everywhere at once.
 */
#ifndef CORDON_REASONS_H
#define CORDON_REASONS_H

/* Actions a rule (or the default) can take. */
#define CDN_ACTIONS(X)                                                         \
	X(ALLOW, "allow")                                                      \
	X(DROP, "drop")                                                        \
	X(REJECT, "reject")                                                    \
	X(REROUTE, "reroute")

enum cdn_action {
#define X(id, name) CDN_ACT_##id,
	CDN_ACTIONS(X)
#undef X
	    CDN_ACT_MAX
};

/*
 * Why a packet did not take the allow path.  The first block is the
 * parser's (malformed input, always dropped); the second the policy's.
 */
#define CDN_REASONS(X)                                                         \
	X(NONE, "none")                                                        \
	X(ETH_TRUNC, "eth-truncated")                                          \
	X(VLAN_TRUNC, "vlan-truncated")                                        \
	X(VLAN_DEPTH, "vlan-too-deep")                                         \
	X(IP4_TRUNC, "ipv4-truncated")                                         \
	X(IP4_VERSION, "ipv4-bad-version")                                     \
	X(IP4_IHL, "ipv4-bad-ihl")                                             \
	X(IP4_LEN, "ipv4-bad-length")                                          \
	X(IP6_TRUNC, "ipv6-truncated")                                         \
	X(IP6_VERSION, "ipv6-bad-version")                                     \
	X(IP6_LEN, "ipv6-bad-length")                                          \
	X(IP6_EXT_TRUNC, "ipv6-ext-truncated")                                 \
	X(IP6_EXT_CHAIN, "ipv6-ext-chain-too-long")                            \
	X(TCP_TRUNC, "tcp-truncated")                                          \
	X(TCP_DOFF, "tcp-bad-offset")                                          \
	X(UDP_TRUNC, "udp-truncated")                                          \
	X(UDP_LEN, "udp-bad-length")                                           \
	X(ICMP_TRUNC, "icmp-truncated")                                        \
	X(IP4_OPTS, "ipv4-bad-options")                                        \
	X(IP4_AH, "ipv4-bad-ah")                                               \
	X(TUN_GRE, "tun-bad-gre")                                              \
	X(TUN_VXLAN, "tun-bad-vxlan")                                          \
	X(TUN_GENEVE, "tun-bad-geneve")                                        \
	X(TUN_TEREDO, "tun-bad-teredo")                                        \
	X(TUN_MPLS, "tun-bad-mpls")                                            \
	X(TUN_ETH, "tun-bad-ethernet")                                         \
	X(TUN_L2TP, "tun-bad-l2tp")                                            \
	X(TUN_GUE, "tun-bad-gue")                                              \
	X(TUN_GTP, "tun-bad-gtp")                                              \
	X(TUN_INNER, "tun-bad-inner")                                          \
	X(TUN_DEPTH, "tun-too-deep")                                           \
	X(TUN_PROTO, "tun-not-inspected")                                      \
	X(TUN_FRAG, "tun-fragment")                                            \
	X(ETHERTYPE, "ethertype-not-inspected")                                \
	X(NON_IP, "non-ip")                                                    \
	X(RULE, "rule")                                                        \
	X(DEFAULT, "default")                                                  \
	X(FRAGMENT, "fragment")                                                \
	X(NO_PEER, "no-egress-port")                                           \
	X(TX_FULL, "tx-queue-full")                                            \
	X(REJECT_FAIL, "reject-build-failed")                                  \
	X(NO_SESSION, "no-session")                                            \
	X(SESSION_EXPIRED, "session-expired")                                  \
	X(IDENTITY, "identity")                                                \
	X(KNOCK, "knock")                                                      \
	X(SRCROUTE, "source-route")                                            \
	X(FRAG_NO_FIRST, "frag-no-first")                                      \
	X(FRAG_OVERLAP, "frag-overlap")                                        \
	X(FRAG_TCP_OFF1, "frag-tcp-offset-1")                                  \
	X(FRAG_HOLES, "frag-holes")                                            \
	X(FRAG_FULL, "frag-table-full")                                        \
	X(FRAG_TIMEOUT, "frag-timeout")                                        \
	X(PRX_BAD, "proxy-bad-header")                                         \
	X(PRX_INCOMPLETE, "proxy-incomplete")                                  \
	X(PRX_FULL, "proxy-table-full")                                        \
	X(PRX_NO_FLOW, "proxy-no-flow")                                        \
	X(PRX_ORDER, "proxy-out-of-order")                                     \
	X(PRX_NOT_INSPECTED, "proxy-not-inspected")                            \
	X(PRX_DENIED, "proxy-flow-denied")

enum cdn_reason {
#define X(id, name) CDN_R_##id,
	CDN_REASONS(X)
#undef X
	    CDN_R_MAX
};

/* The parser's tunnel reasons (docs/packet-parsing.md, Tunnels). */
#define CDN_R_IS_TUN(r) ((r) >= CDN_R_TUN_GRE && (r) <= CDN_R_TUN_FRAG)

/* Reasons below this value come from the packet parser: malformed input. */
#define CDN_R_FIRST_POLICY CDN_R_NON_IP

const char *cdn_action_name(unsigned a);
const char *cdn_reason_name(unsigned r);
/* Returns the action for NAME, or -1 when NAME is not an action. */
int cdn_action_parse(const char *name);

#endif
