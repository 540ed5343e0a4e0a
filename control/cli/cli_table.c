/*
 * The command tree of cordonctl, as data.  Parsing, help, completion,
 * the usage text and the request builder all read this table; adding a
 * command is adding a row.  The daemon owns the semantics: values are
 * only typed here (strings, integers, booleans, arrays).
 */
#include <stddef.h>

#include "control/cli/cli.h"

/* A row names its completion source (cli_param.from) only where there
 * is one: the rows without leave it NULL. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *const cli_actions[] = { "allow", "drop", "reject", "reroute",
	NULL };
static const char *const cli_default_actions[] = { "allow", "drop", "reject",
	NULL };
static const char *const cli_protos[] = { "tcp", "udp", "icmp", "other", "any",
	NULL };
static const char *const cli_svc_protos[] = { "tcp", "udp", NULL };
static const char *const cli_dirs[] = { "in", "out", "any", NULL };
static const char *const cli_frags[] = { "first", "later", NULL };

#define END                                                                    \
	{                                                                      \
		NULL, NULL, 0, NULL, 0, NULL, NULL, NULL                       \
	}
#define ATTR CLI_P_ATTR
#define REQ  CLI_P_REQ

static const struct cli_param cli_p_none[] = { END };

static const struct cli_param cli_p_counters[] = {
	{ "prometheus", "prometheus", CLI_V_FLAG, NULL, CLI_P_LOCAL, NULL,
	    "Prometheus text exposition, with status (--prometheus, -p)" },
	END
};

static const struct cli_param cli_p_lookup[] = {
	{ NULL, "addr", CLI_V_STR, NULL, REQ, "ADDR",
	    "IPv4 or IPv6 address to geolocate" },
	END
};

static const struct cli_param cli_p_explain[] = {
	{ "src", "src", CLI_V_STR, NULL, REQ | CLI_P_POS, "ADDR",
	    "source address" },
	{ "dst", "dst", CLI_V_STR, NULL, REQ | CLI_P_POS, "ADDR",
	    "destination address" },
	{ "proto", "proto", CLI_V_STR, NULL, REQ | CLI_P_POS, "PROTO",
	    "tcp, udp, icmp or an IP protocol number" },
	{ "sport", "sport", CLI_V_INT, NULL, CLI_P_POS, "PORT", "source port" },
	{ "dport", "dport", CLI_V_INT, NULL, CLI_P_POS, "PORT",
	    "destination port" },
	{ "iface", "iface", CLI_V_STR, NULL, CLI_P_POS, "IFACE",
	    "port it arrives on (its role sets the direction), or in/out",
	    "ports" },
	{ "token", "token", CLI_V_FILE, NULL, 0, "FILE",
	    "also walk the identity checks with this token (- for stdin)" },
	{ "fragment", "fragment", CLI_V_ENUM, cli_frags, 0, "first|later",
	    "a fragment of that packet: the first, or a later one" },
	{ "via", "via", CLI_V_LIST, NULL, 0, "KIND:ADDR,...",
	    "tunnels it came through, outermost first (gre:198.51.100.7)" },
	{ "layer-dst", "inner_dst", CLI_V_STR, NULL, 0, "ADDR",
	    "with via: where the tunnelled packet goes (default: dst)" },
	{ "reported", "reported", CLI_V_LIST, NULL, 0, "ADDR,...",
	    "hops a proxied service's relay reported, leftmost first" },
	END
};

static const char *const cli_tunnels[] = { "none", "inspected", "opaque", "any",
	NULL };

static const struct cli_param cli_p_rule[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "rule name", "rules" },
	{ "position", "position", CLI_V_INT, NULL, ATTR, "N",
	    "place the rule at N (1 = first); default: keep, or append" },
	{ "src", "src", CLI_V_LIST, NULL, ATTR, "A,B",
	    "source regions, countries, unknown or any", "regions" },
	{ "dst", "dst", CLI_V_LIST, NULL, ATTR, "A,B",
	    "destination regions, countries, unknown or any", "regions" },
	{ "origin", "origin", CLI_V_LIST, NULL, ATTR, "A,B",
	    "a tunnelled packet's innermost source: regions, countries",
	    "regions" },
	{ "via", "via", CLI_V_LIST, NULL, ATTR, "A,B",
	    "any layer's source (tunnels): regions, countries", "regions" },
	{ "dst_via", "dst_via", CLI_V_LIST, NULL, ATTR, "A,B",
	    "any layer's destination (tunnels): regions, countries",
	    "regions" },
	{ "tunnel", "tunnel", CLI_V_ENUMLIST, cli_tunnels, ATTR, "T,U",
	    "none, inspected, opaque or any" },
	{ "services", "services", CLI_V_LIST, NULL, ATTR, "S,T",
	    "service names", "services" },
	{ "proto", "proto", CLI_V_ENUMLIST, cli_protos, ATTR, "PROTO",
	    "tcp, udp, icmp, other or any (comma list)" },
	{ "ports", "ports", CLI_V_LIST, NULL, ATTR, "P,LO-HI",
	    "destination ports, e.g. 22,80-90" },
	{ "direction", "direction", CLI_V_ENUM, cli_dirs, ATTR, "DIR",
	    "in, out or any" },
	{ "action", "action", CLI_V_ENUM, cli_actions, ATTR | REQ, "ACTION",
	    "allow, drop, reject or reroute" },
	{ "nexthop", "nexthop", CLI_V_STR, NULL, ATTR, "NH",
	    "next hop of a reroute", "nexthops" },
	{ "log", "log", CLI_V_BOOL, NULL, ATTR, "yes|no",
	    "log the packets this rule decides" },
	{ "evidence", "evidence", CLI_V_BOOL, NULL, ATTR, "yes|no",
	    "keep the first packets of the flows it denies (pcap)" },
	END
};

static const struct cli_param cli_p_region[] = { { NULL, "name", CLI_V_STR,
	                                             NULL, REQ, "NAME",
	                                             "region name", "regions" },
	{ NULL, "countries", CLI_V_LIST, NULL, ATTR | REQ, "CC,CC",
	    "ISO 3166-1 codes, special sub-regions or unknown" },
	END };

static const struct cli_param cli_p_service[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "service name",
	    "services" },
	{ "proto", "proto", CLI_V_ENUMLIST, cli_svc_protos, ATTR | REQ, "PROTO",
	    "tcp, udp or tcp,udp" },
	{ "ports", "ports", CLI_V_LIST, NULL, ATTR | REQ, "P,LO-HI",
	    "destination ports, e.g. 5985-5986" },
	END
};

static const struct cli_param cli_p_override[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "PREFIX",
	    "address or prefix, e.g. 203.0.113.0/24" },
	{ NULL, "country", CLI_V_STR, NULL, ATTR | REQ, "CC",
	    "ISO 3166-1 code, a special sub-region or unknown" },
	END
};

static const struct cli_param cli_p_nexthop[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "next hop name",
	    "nexthops" },
	{ "port", "port", CLI_V_STR, NULL, ATTR | REQ, "PORT",
	    "dataplane port rerouted packets leave by", "ports" },
	{ "mac", "mac", CLI_V_STR, NULL, ATTR, "MAC",
	    "destination MAC address (required with backend dpdk)" },
	{ "vlan", "vlan", CLI_V_INT, NULL, ATTR, "VLAN",
	    "802.1Q tag to push (1-4094)" },
	{ "address", "address", CLI_V_STR, NULL, ATTR, "ADDR",
	    "IPv4 gateway (backend nftables)" },
	{ "address6", "address6", CLI_V_STR, NULL, ATTR, "ADDR6",
	    "IPv6 gateway (backend nftables)" },
	{ "table", "table", CLI_V_INT, NULL, ATTR, "N",
	    "policy-routing table (backend nftables)" },
	{ "fwmark", "fwmark", CLI_V_INT, NULL, ATTR, "N",
	    "firewall mark of rerouted packets (backend nftables)" },
	END
};

static const struct cli_param cli_p_default[] = {
	{ "action", "action", CLI_V_ENUM, cli_default_actions, ATTR | REQ,
	    "ACTION", "allow, drop or reject" },
	{ "log", "log", CLI_V_BOOL, NULL, ATTR, "yes|no",
	    "log the packets no rule decides" },
	END
};

/* delete KIND NAME: the names completion offers are the kind's. */
static const struct cli_param cli_p_del_rule[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "rule name", "rules" },
	END
};
static const struct cli_param cli_p_del_region[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "region name",
	    "regions" },
	END
};
static const struct cli_param cli_p_del_service[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "service name",
	    "services" },
	END
};
static const struct cli_param cli_p_del_nexthop[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME", "next hop name",
	    "nexthops" },
	END
};

static const struct cli_param cli_p_prefix[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "PREFIX", "override prefix" }, END
};

static const struct cli_param cli_p_commit[] = {
	{ "check", "check", CLI_V_FLAG, NULL, 0, NULL,
	    "validate the candidate only, change nothing" },
	{ "confirmed", "confirmed", CLI_V_OPTINT, NULL, 0, "[MINUTES]",
	    "roll back by itself unless confirmed within MINUTES "
	    "(default: control.confirm_default)" },
	{ "comment", "comment", CLI_V_STR, NULL, 0, "TEXT",
	    "recorded with the revision (quote it)" },
	END
};

static const struct cli_param cli_p_rollback[] = {
	{ NULL, "revision", CLI_V_INT, NULL, REQ, "N",
	    "revision to copy into your candidate (show revisions)",
	    "revisions" },
	{ "commit", "commit", CLI_V_FLAG, NULL, 0, NULL,
	    "commit the copy at once as a new revision" },
	END
};

static const struct cli_param cli_p_sess_add[] = {
	{ "token", "token", CLI_V_FILE, NULL, REQ, "FILE",
	    "file holding the signed token (compact JWS; - for stdin)" },
	{ "src", "src", CLI_V_STR, NULL, REQ, "ADDR",
	    "source address the session is for" },
	{ "service", "service", CLI_V_STR, NULL, 0, "S",
	    "only this one of the token's services", "services" },
	{ "ttl", "ttl", CLI_V_INT, NULL, 0, "SECONDS",
	    "shorter than the token allows" },
	END
};

static const struct cli_param cli_p_sess_revoke[] = {
	{ "id", "id", CLI_V_INT, NULL, 0, "N", "the session numbered N" },
	{ "sub", "sub", CLI_V_STR, NULL, 0, "S", "every session of a subject" },
	{ "jti", "jti", CLI_V_STR, NULL, 0, "J",
	    "every session opened with a token id" },
	{ "src", "src", CLI_V_STR, NULL, 0, "ADDR",
	    "every session from a source address" },
	END
};

static const struct cli_param cli_p_alarm_ack[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME|all",
	    "the alarm (show alarms), or all raised alarms" },
	END
};

static const struct cli_param cli_p_alarm_clear[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "NAME",
	    "an event alarm (a condition alarm clears by itself)" },
	END
};

static const struct cli_param cli_p_monitor[] = {
	{ "deny", "deny", CLI_V_FLAG, NULL, 0, NULL,
	    "only packets not allowed (drop, reject, reroute)" },
	{ "rule", "rule", CLI_V_STR, NULL, 0, "NAME",
	    "only the packets this rule decided ((default): none did)",
	    "rules" },
	{ "src", "src", CLI_V_STR, NULL, 0, "PREFIX",
	    "only sources in this address or prefix" },
	END
};

static const struct cli_param cli_p_show_config[] = {
	{ NULL, "revision", CLI_V_INT, NULL, 0, "[N]",
	    "a kept revision (show revisions); default: the running one" },
	END
};

static const struct cli_param cli_p_compare[] = {
	{ "rollback", "rollback", CLI_V_INT, NULL, 0, "N",
	    "what changed since revision N (N -> running)" },
	{ "from", "from", CLI_V_INT, NULL, CLI_P_POS, "N",
	    "with M: revision N -> revision M" },
	{ "to", "to", CLI_V_INT, NULL, CLI_P_POS, "M", "see N" }, END
};

static const struct cli_param cli_p_load_override[] = {
	{ NULL, "text", CLI_V_CONF, NULL, REQ, "FILE",
	    "a whole config: it replaces your candidate" },
	END
};

static const struct cli_param cli_p_load_merge[] = {
	{ NULL, "text", CLI_V_CONFPART, NULL, REQ, "FILE",
	    "config settings merged onto your candidate by name" },
	END
};

static const struct cli_param cli_p_rename[] = {
	{ NULL, "name", CLI_V_STR, NULL, REQ, "OLD", "the rule's name now" },
	{ "to", "to", CLI_V_STR, NULL, REQ, "NEW",
	    "its new name: it keeps its id and hits" },
	END
};

static const struct cli_param cli_p_clear[] = {
	{ "rule", "rule", CLI_V_STR, NULL, 0, "NAME",
	    "only this rule's (default: every rule's)" },
	END
};

static const struct cli_param cli_p_top[] = {
	{ "rule", "rule", CLI_V_STR, NULL, 0, "NAME",
	    "only the sources this rule denied ((default): no rule)" },
	{ "country", "country", CLI_V_STR, NULL, 0, "CC",
	    "only sources of this country (a code, sub-region or unknown)" },
	{ "limit", "limit", CLI_V_INT, NULL, 0, "N",
	    "at most N rows (default 20)" },
	END
};

/* Defined in cli_parse.c: explain's optional SPORT before DPORT. */
void cli_place_explain(struct cli_parse *p);

#define SHOW(w, h)                                                             \
	{                                                                      \
		{ "show", w, NULL }, h, "show", "what", w, CLI_C_RO,           \
		    cli_p_none, NULL, NULL, NULL                               \
	}
#define SET(w, h, pp)                                                          \
	{                                                                      \
		{ "set", w, NULL }, h, "set", "kind", w, 0, pp, NULL, NULL,    \
		    NULL                                                       \
	}
#define DEL(w, h, pp)                                                          \
	{                                                                      \
		{ "delete", w, NULL }, h, "delete", "kind", w, 0, pp, NULL,    \
		    NULL, NULL                                                 \
	}

const struct cli_cmd cli_cmds[] = { { { "show", "status", NULL },
	                                "daemon, dataplane, geo and confirm "
	                                "status",
	                                "status", NULL, NULL, CLI_C_RO,
	                                cli_p_none, NULL, NULL, NULL },
	{ { "show", "counters", NULL }, "packet counters, rules named",
	    "counters", NULL, NULL, CLI_C_RO, cli_p_counters, NULL, NULL,
	    NULL },
	SHOW("rules", "running rules, in order, with hits"),
	SHOW("regions", "running regions"),
	SHOW("services", "running services"), SHOW("ports", "dataplane ports"),
	SHOW("nexthops", "reroute next hops"),
	SHOW("geo", "geolocation databases and overrides"),
	SHOW("revisions", "committed revisions"),
	SHOW("audit", "audit log records"),
	{ { "show", "config", NULL },
	    "running (or revision N) configuration, a loadable file", "show",
	    "what", "config", CLI_C_RO, cli_p_show_config, NULL, NULL,
	    cli_render_config },
	SHOW("candidate", "your candidate configuration text"),
	SHOW("logging", "syslog targets and their counters"),
	SHOW("captures", "evidence pcap files, oldest first"),
	{ { "show", "sessions", NULL }, "identity sessions (= session list)",
	    "session-list", NULL, NULL, CLI_C_RO, cli_p_none, NULL, NULL,
	    cli_render_sessions },
	{ { "lookup", NULL, NULL }, "country of an address, layer by layer",
	    "lookup", NULL, NULL, CLI_C_RO, cli_p_lookup, NULL, NULL, NULL },
	{ { "explain", NULL, NULL }, "verdict of a packet, step by step",
	    "explain", NULL, NULL, CLI_C_RO, cli_p_explain, cli_place_explain,
	    "steps", cli_render_explain },
	SET("rule", "add or change a rule", cli_p_rule),
	SET("region", "add or change a region", cli_p_region),
	SET("service", "add or change a service", cli_p_service),
	SET("override", "force the country of a prefix", cli_p_override),
	SET("nexthop", "add or change a reroute next hop", cli_p_nexthop),
	{ { "set", "default", NULL }, "action when no rule matches", "set",
	    "kind", "default", 0, cli_p_default, NULL, NULL, NULL },
	DEL("rule", "delete a rule", cli_p_del_rule),
	DEL("region", "delete a region", cli_p_del_region),
	DEL("service", "delete a service", cli_p_del_service),
	DEL("override", "delete a geo override", cli_p_prefix),
	DEL("nexthop", "delete a next hop", cli_p_del_nexthop),
	DEL("default", "back to the built-in default (allow, no log)",
	    cli_p_none),
	{ { "compare", NULL, NULL },
	    "diff running -> your candidate; or between revisions", "compare",
	    NULL, NULL, 0, cli_p_compare, NULL, NULL, NULL },
	{ { "commit", NULL, NULL },
	    "make your candidate the running "
	    "revision",
	    "commit", NULL, NULL, 0, cli_p_commit, NULL, NULL, NULL },
	{ { "confirm", NULL, NULL }, "keep a commit confirmed revision",
	    "confirm", NULL, NULL, 0, cli_p_none, NULL, NULL, NULL },
	{ { "rollback", NULL, NULL },
	    "copy an older revision into your candidate", "rollback", NULL,
	    NULL, 0, cli_p_rollback, NULL, NULL, NULL },
	{ { "discard", NULL, NULL }, "drop your candidate", "discard", NULL,
	    NULL, 0, cli_p_none, NULL, NULL, NULL },
	{ { "update", NULL, NULL },
	    "rebase your stale candidate onto the running revision", "update",
	    NULL, NULL, 0, cli_p_none, NULL, NULL, NULL },
	{ { "geo", "reload", NULL }, "reload the geolocation databases",
	    "geo-reload", NULL, NULL, 0, cli_p_none, NULL, NULL, NULL },
	{ { "audit", "verify", NULL }, "check the audit log's hash chain",
	    "audit-verify", NULL, NULL, CLI_C_RO, cli_p_none, NULL, "warnings",
	    NULL },
	{ { "session", "add", NULL }, "open a session with a signed token",
	    "session-add", NULL, NULL, 0, cli_p_sess_add, NULL, NULL,
	    cli_render_session },
	{ { "session", "list", NULL }, "identity sessions, with their expiry",
	    "session-list", NULL, NULL, CLI_C_RO, cli_p_none, NULL, NULL,
	    cli_render_sessions },
	{ { "session", "revoke", NULL },
	    "end sessions: one id, or all of a subject, token or source",
	    "session-revoke", NULL, NULL, CLI_C_ONEOF, cli_p_sess_revoke, NULL,
	    NULL, NULL },
	{ { "show", "alarms", NULL },
	    "raised alarms: severity, since when, acknowledged by whom",
	    "alarm-list", NULL, NULL, CLI_C_RO, cli_p_none, NULL, NULL, NULL },
	{ { "alarm", "ack", NULL }, "acknowledge a raised alarm, or all",
	    "alarm-ack", NULL, NULL, 0, cli_p_alarm_ack, NULL, NULL, NULL },
	{ { "alarm", "clear", NULL }, "clear an event alarm", "alarm-clear",
	    NULL, NULL, 0, cli_p_alarm_clear, NULL, NULL, NULL },
	{ { "monitor", NULL, NULL },
	    "verdict events of logged rules as they happen (Ctrl-C ends)",
	    "monitor", NULL, NULL, CLI_C_RO, cli_p_monitor, NULL, NULL, NULL },
	{ { "load", "override", NULL },
	    "replace your candidate with a config file", "load", "mode",
	    "override", 0, cli_p_load_override, NULL, NULL, NULL },
	{ { "load", "merge", NULL },
	    "merge a config file onto your candidate, by name", "load", "mode",
	    "merge", 0, cli_p_load_merge, NULL, NULL, NULL },
	{ { "rename", "rule", NULL },
	    "rename a rule in your candidate, keeping its counters", "rename",
	    "kind", "rule", 0, cli_p_rename, NULL, NULL, NULL },
	{ { "clear", "counters", NULL }, "zero the rule counters (audited)",
	    "clear-counters", NULL, NULL, 0, cli_p_clear, NULL, NULL, NULL },
	{ { "show", "top", NULL },
	    "top denied sources over the sliding window (dataplane.top_window)",
	    "top", NULL, NULL, CLI_C_RO, cli_p_top, NULL, NULL, NULL },
	{ { NULL, NULL, NULL }, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    NULL } };

const struct cli_group cli_groups[] = {
	{ "show", "display running state and configuration" },
	{ "set", "change your candidate configuration" },
	{ "delete", "remove an object from your candidate" },
	{ "geo", "geolocation database actions" },
	{ "audit", "audit log actions" },
	{ "session", "identity sessions opened by signed tokens" },
	{ "alarm", "acknowledge or clear alarms" },
	{ "load", "put a config file into your candidate" },
	{ "rename", "rename an object of your candidate" },
	{ "clear", "reset counters" },
	{ NULL, NULL },
};
