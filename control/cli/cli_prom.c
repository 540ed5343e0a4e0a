/*
 * The Prometheus exposition of docs/prometheus.md: one family
 * (# HELP, # TYPE, samples) per metric, names cordon_*, counters ending
 * in _total.  Everything is read from the replies' JSON: a counter the
 * daemon adds to a port row shows up here as cordon_port_NAME_total.
 */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli_prom.h"

#define PROM_END        ((const char *)NULL) /* ends prom_sample's labels */
#define PROM_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

void
cli_prom_label_write(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * One sample: NAME{K="V",...} VALUE.  The labels are NULL-terminated
 * key, value pairs.  JSON integers are written as they are, except that
 * counters (unsigned 64-bit in the dataplane) are read back unsigned;
 * booleans are 1 or 0; a missing value writes nothing.
 */
static void
prom_sample(FILE *f, const char *name, const json_t *v, ...)
{
	const char *k;
	va_list ap;
	int n = 0;

	if (!json_is_integer(v) && !json_is_boolean(v))
		return;
	fputs(name, f);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL) {
		fprintf(f, "%s%s=\"", n++ ? "," : "{", k);
		cli_prom_label_write(f, va_arg(ap, const char *));
		fputc('"', f);
	}
	va_end(ap);
	if (n)
		fputc('}', f);
	if (json_is_boolean(v))
		fprintf(f, " %d\n", json_is_true(v));
	else if (strstr(name, "_total") != NULL)
		fprintf(f, " %" PRIu64 "\n", (uint64_t)json_integer_value(v));
	else
		fprintf(f, " %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(v));
}

static const json_t *
prom_get(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_object_get(o, path);
}

static const char *
prom_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A member of a reply written as one metric of its own. */
struct prom_one {
	const char *key, *name, *type, *help;
};
#define PROM_N(t) (sizeof(t) / sizeof((t)[0]))

static void
prom_ones(FILE *f, const json_t *o, const struct prom_one *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		prom_family(f, t[i].name, t[i].type, t[i].help);
		prom_sample(f, t[i].name, json_object_get(o, t[i].key),
		    PROM_END);
	}
}

/* The daemon's own metrics, from the status reply. */
static void
prom_status(FILE *f, const json_t *st)
{
	const char *ver = json_string_value(json_object_get(st, "version"));
	const char *state = json_string_value(prom_get(st, "dataplane.state"));
	json_t *up = json_boolean(state != NULL && strcmp(state, "up") == 0);
	json_t *one = json_integer(1);

	prom_family(f, "cordon_build_info", "gauge",
	    "Cordon version of the daemon answering (always 1).");
	prom_sample(f, "cordon_build_info", one, "version", ver ? ver : "",
	    PROM_END);
	prom_family(f, "cordon_dataplane_up", "gauge",
	    "1 when cordon-dp is connected and enforcing, else 0.");
	prom_sample(f, "cordon_dataplane_up", up, PROM_END);
	prom_family(f, "cordon_dataplane_restarts_total", "counter",
	    "cordon-dp restarts since cordond started.");
	prom_sample(f, "cordon_dataplane_restarts_total",
	    prom_get(st, "dataplane.restarts"), PROM_END);
	prom_family(f, "cordon_policy_revision", "gauge",
	    "Running policy revision.");
	prom_sample(f, "cordon_policy_revision",
	    json_object_get(st, "running_revision"), PROM_END);
	prom_family(f, "cordon_geo_build_time_seconds", "gauge",
	    "Build time of the newest geolocation database (unix seconds).");
	prom_sample(f, "cordon_geo_build_time_seconds",
	    prom_get(st, "geo.build_epoch"), PROM_END);
	prom_family(f, "cordon_geo_age_seconds", "gauge",
	    "Age of the newest geolocation database.");
	prom_sample(f, "cordon_geo_age_seconds", prom_get(st, "geo.age_s"),
	    PROM_END);
	json_decref(up);
	json_decref(one);
}

/* The raised alarm named NAME in the status reply's list, or NULL. */
static const json_t *
prom_alarm_row(const json_t *list, const char *name)
{
	const json_t *a;
	size_t i;

	json_array_foreach(list, i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));

		if (n != NULL && strcmp(n, name) == 0)
			return a;
	}
	return NULL;
}

/* Every alarm of status.alarm_names, at 1 while raised (status.alarms). */
static void
prom_alarms(FILE *f, const json_t *st)
{
	const json_t *names = json_object_get(st, "alarm_names");
	const json_t *list = json_object_get(st, "alarms"), *n;
	static const struct {
		const char *name, *help;
	} fam[] = {
		{ "cordon_alarm_active", "1 while the alarm is raised "
		                         "(cordonctl show alarms), else 0." },
		{ "cordon_alarm_acknowledged",
		    "1 while the raised alarm is acknowledged, else 0." },
	};
	size_t i;

	for (unsigned k = 0; k < 2 && json_array_size(names) > 0; k++) {
		prom_family(f, fam[k].name, "gauge", fam[k].help);
		json_array_foreach(names, i, n) {
			const json_t *row =
			    prom_alarm_row(list, json_string_value(n) ?: "");
			json_t *v = json_boolean(
			    row != NULL &&
			    (k == 0 || json_is_true(json_object_get(row,
			                   "acknowledged"))));

			prom_sample(f, fam[k].name, v, "alarm",
			    json_string_value(n) ?: "", PROM_END);
			json_decref(v);
		}
	}
}

/* cordond's children (status.processes), one sample each. */
static void
prom_procs(FILE *f, const json_t *st)
{
	const json_t *list = json_object_get(st, "processes"), *p;
	static const struct prom_one fam[] = {
		{ "ready", "cordon_process_up", "gauge",
		    "1 while the process is running and sandboxed, else 0." },
		{ "crashes", "cordon_process_restarts_total", "counter",
		    "Restarts of the process since cordond started." },
		{ "refused", "cordon_process_refused_total", "counter",
		    "Messages of the process refused (it was killed)." },
	};
	size_t i;

	for (unsigned k = 0; k < PROM_N(fam) && json_array_size(list) > 0;
	     k++) {
		prom_family(f, fam[k].name, fam[k].type, fam[k].help);
		json_array_foreach(list, i, p) {
			prom_sample(f, fam[k].name,
			    json_object_get(p, fam[k].key), "process",
			    prom_str(p, "name"), PROM_END);
		}
	}
}

/* A family with one label, from a JSON object NAME -> count. */
static void
prom_map(FILE *f, const json_t *map, const char *name, const char *label,
    const char *help)
{
	const char *k;
	json_t *v;

	prom_family(f, name, "counter", help);
	json_object_foreach((json_t *)map, k, v) {
		prom_sample(f, name, v, label, k, PROM_END);
	}
}

/* The action of the rule NAME in RULES ("" unknown: the rules changed
 * between the two replies). */
static const char *
prom_rule_action(const json_t *rules, const char *name)
{
	const json_t *r;
	size_t i;

	json_array_foreach(json_object_get(rules, "rules"), i, r) {
		const char *n = json_string_value(json_object_get(r, "name"));
		const char *a = json_string_value(json_object_get(r, "action"));

		if (n != NULL && strcmp(n, name) == 0)
			return a ? a : "";
	}
	return "";
}

/*
 * A series per rule identity: labelled by the rule's id and name, not
 * by its position, so that a rule inserted above it neither moves its
 * series nor inherits its hits (docs/prometheus.md).
 */
static void
prom_rules_one(FILE *f, const json_t *rows, const json_t *rules,
    const char *name, const char *key)
{
	const json_t *r;
	char id[24];
	size_t i;

	json_array_foreach(rows, i, r) {
		const json_t *n = json_object_get(r, "id");
		const char *rule =
		    json_string_value(json_object_get(r, "rule"));

		if (!json_is_integer(n) || rule == NULL)
			continue;
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(n));
		if (key == NULL)
			prom_sample(f, name, json_object_get(r, "position"),
			    "id", id, "rule", rule, PROM_END);
		else
			prom_sample(f, name, json_object_get(r, key), "id", id,
			    "rule", rule, "action",
			    prom_rule_action(rules, rule), PROM_END);
	}
}

static void
prom_rules(FILE *f, const json_t *rows, const json_t *rules)
{
	prom_family(f, "cordon_rule_hits_total", "counter",
	    "Packets decided by the rule, wherever it stood and however "
	    "renamed, since it was created or cleared (id 1: the "
	    "default).");
	prom_rules_one(f, rows, rules, "cordon_rule_hits_total", "hits");
	prom_family(f, "cordon_rule_hits_since_activation", "gauge",
	    "Packets decided by the rule since the running revision became "
	    "active.");
	prom_rules_one(f, rows, rules, "cordon_rule_hits_since_activation",
	    "hits_since_activation");
	prom_family(f, "cordon_rule_position", "gauge",
	    "Where the rule stands in the running policy (0: the default).");
	prom_rules_one(f, rows, rules, "cordon_rule_position", NULL);
}

static void
prom_countries(FILE *f, const json_t *rows)
{
	static const char *const key[] = { "packets", "denied" };
	static const char *const name[] = { "cordon_country_packets_total",
		"cordon_country_denied_packets_total" };
	static const char *const help[] = {
		"Packets by source country.",
		"Packets not allowed (drop, reject, reroute) by source "
		"country.",
	};
	const json_t *r;
	size_t i;

	for (unsigned k = 0; k < 2; k++) {
		prom_family(f, name[k], "counter", help[k]);
		json_array_foreach(rows, i, r) {
			const char *cc =
			    json_string_value(json_object_get(r, "country"));

			if (cc != NULL)
				prom_sample(f, name[k],
				    json_object_get(r, key[k]), "country", cc,
				    PROM_END);
		}
	}
}

static const char *
prom_port_help(const char *field)
{
	static const char *const h[][2] = {
		{ "rx_packets", "Packets received on the port." },
		{ "rx_bytes", "Bytes received on the port." },
		{ "tx_packets", "Packets sent on the port." },
		{ "tx_bytes", "Bytes sent on the port." },
		{ "tx_dropped", "Packets the port's TX queue did not take." },
	};

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (strcmp(h[i][0], field) == 0)
			return h[i][1];
	return "Port counter.";
}

/* cordon_port_FIELD_total for every counter of the first port's row. */
static void
prom_ports(FILE *f, const json_t *rows)
{
	const json_t *r, *v;
	const char *field;
	char name[96];
	size_t i;

	json_object_foreach((json_t *)json_array_get(rows, 0), field, v) {
		if (!json_is_integer(v) ||
		    strspn(field, PROM_NAME_CHARS) != strlen(field))
			continue;
		snprintf(name, sizeof(name), "cordon_port_%s_total", field);
		prom_family(f, name, "counter", prom_port_help(field));
		json_array_foreach(rows, i, r) {
			const char *port =
			    json_string_value(json_object_get(r, "port"));

			if (port != NULL)
				prom_sample(f, name, json_object_get(r, field),
				    "port", port, PROM_END);
		}
	}
}

/* Tunnels (docs/packet-parsing.md), when the daemon reports them. */
static void
prom_tunnels(FILE *f, const json_t *c)
{
	if (json_object_get(c, "tunnels") == NULL)
		return;
	prom_map(f, json_object_get(c, "tunnels"), "cordon_tunnel_layers_total",
	    "tunnel", "Layers of tunnelled packets, by how each was carried.");
	prom_map(f, json_object_get(c, "tunnel_layers"),
	    "cordon_tunnel_packets_total", "layers",
	    "Tunnelled packets, by the number of IP layers seen.");
	prom_family(f, "cordon_tunnel_opaque_total", "counter",
	    "Packets ending in a tunnel that cannot be opened.");
	prom_sample(f, "cordon_tunnel_opaque_total",
	    json_object_get(c, "tunnel_opaque"), PROM_END);
}

/* Knocks (docs/knock.md): the dataplane's losses, cordond's verdicts. */
static const struct prom_one prom_knock[] = {
	{ "knock_dropped", "cordon_knock_dropped_total", "counter",
	    "Knocks the dataplane dropped (rate limit, full ring)." },
	{ "knock_unsent", "cordon_knock_unsent_total", "counter",
	    "Knocks the dataplane could not hand to cordond." },
};

static void
prom_knocks(FILE *f, const json_t *c)
{
	prom_ones(f, c, prom_knock, PROM_N(prom_knock));
	if (json_object_get(c, "knocks") != NULL)
		prom_map(f, json_object_get(c, "knocks"), "cordon_knocks_total",
		    "result", "Knocks cordond judged, by result.");
}

static void
prom_counters(FILE *f, const json_t *c, const json_t *rules)
{
	prom_family(f, "cordon_packets_total", "counter",
	    "Packets classified by the dataplane.");
	prom_sample(f, "cordon_packets_total", json_object_get(c, "packets"),
	    PROM_END);
	prom_map(f, json_object_get(c, "actions"),
	    "cordon_action_packets_total", "action", "Packets by verdict.");
	prom_map(f, json_object_get(c, "reasons"),
	    "cordon_drop_reason_packets_total", "reason",
	    "Packets by the reason of their verdict.");
	prom_rules(f, json_object_get(c, "rules"), rules);
	prom_countries(f, json_object_get(c, "countries"));
	prom_ports(f, json_object_get(c, "ports"));
	/* Replies of cordond before the fragment table lack them. */
	if (json_object_get(c, "fragments") != NULL)
		prom_map(f, json_object_get(c, "fragments"),
		    "cordon_fragments_total", "event",
		    "Fragment table: "
		    "datagrams tracked, later fragments that followed their "
		    "first, datagrams completed, entries expired.");
	/* Replies of cordond before proxied services lack them. */
	if (json_object_get(c, "proxied") != NULL)
		prom_map(f, json_object_get(c, "proxied"),
		    "cordon_proxied_total", "event",
		    "Proxied services' flows: tracked, decided by a reported "
		    "client, PROXY LOCAL, denied and reset, headers from "
		    "untrusted senders, refused for a full table, resends "
		    "that changed held bytes.");
	prom_tunnels(f, c);
	if (json_object_get(c, "evidence") != NULL)
		prom_map(f, json_object_get(c, "evidence"),
		    "cordon_evidence_total", "event",
		    "Evidence captures (docs/evidence.md): copies kept, "
		    "flows, refusals, records written and lost, files.");
	if (json_object_get(c, "syslog_fallback") != NULL)
		prom_map(f, json_object_get(c, "syslog_fallback"),
		    "cordon_syslog_fallback_total", "event",
		    "cordon-dp's own syslog while cordond was away: log events "
		    "taken, records queued, records and events over the rate, "
		    "datagrams sent, copies dropped.");
	prom_knocks(f, c);
	prom_family(f, "cordon_log_dropped_total", "counter",
	    "Log events lost because the log ring was full.");
	prom_sample(f, "cordon_log_dropped_total",
	    json_object_get(c, "log_dropped"), PROM_END);
	prom_family(f, "cordon_log_suppressed_total", "counter",
	    "Log events over the log rate limit.");
	prom_sample(f, "cordon_log_suppressed_total",
	    json_object_get(c, "log_suppressed"), PROM_END);
}

/* status: whether cordon-dp enforces the running revision, and a
 * commit confirmed waiting for its confirm (docs/prometheus.md). */
static const struct prom_one prom_sync[] = {
	{ "in_sync", "cordon_dataplane_in_sync", "gauge",
	    "1 when cordon-dp enforces the running revision, else 0." },
};

static const struct prom_one prom_conf[] = {
	{ "deadline", "cordon_confirm_deadline_seconds", "gauge",
	    "When the pending commit confirmed is rolled back unless "
	    "confirmed (unix seconds); no sample when none is pending." },
	{ "revision", "cordon_confirm_revision", "gauge",
	    "The revision a pending commit confirmed made running." },
};

static void
prom_confirm(FILE *f, const json_t *st)
{
	const json_t *c = json_object_get(st, "confirm");
	json_t *pending = json_boolean(json_is_object(c));

	prom_ones(f, json_object_get(st, "dataplane"), prom_sync,
	    PROM_N(prom_sync));
	prom_family(f, "cordon_confirm_pending", "gauge",
	    "1 while a commit confirmed waits for confirm, else 0.");
	prom_sample(f, "cordon_confirm_pending", pending, PROM_END);
	prom_ones(f, c, prom_conf, PROM_N(prom_conf));
	json_decref(pending);
}

static const struct prom_one prom_sl[] = {
	{ "events", "cordon_syslog_events_total", "counter",
	    "Log events received from the dataplane." },
	{ "records", "cordon_syslog_records_total", "counter",
	    "Syslog records formatted (packet and daemon records)." },
	{ "rate_limited_records", "cordon_syslog_rate_limited_records_total",
	    "counter", "Packet records the syslog rate limit held back." },
	{ "rate_limited_events", "cordon_syslog_rate_limited_events_total",
	    "counter", "Log events in the records the rate limit held back." },
	{ "aggregation_overflow", "cordon_syslog_aggregation_overflow_total",
	    "counter",
	    "Events reported alone: the aggregation table was full." },
	{ "channel_lost", "cordon_syslog_channel_lost_total", "counter",
	    "Log events lost while a request waited (over 4096 kept)." },
	{ "monitors", "cordon_monitors", "gauge",
	    "cordonctl monitor subscribers connected." },
};

/* Per syslog target: labelled by its number, type and address. */
static const char *const prom_tgt[][3] = {
	{ "sent", "cordon_syslog_target_sent_total", "Records sent." },
	{ "dropped", "cordon_syslog_target_dropped_total",
	    "Records dropped: the target's queue was full." },
	{ "reconnects", "cordon_syslog_target_reconnects_total",
	    "Connections made again after a loss." },
	{ "errors", "cordon_syslog_target_errors_total",
	    "Send, connect or TLS errors." },
	{ "queued", "cordon_syslog_target_queued", "Records waiting now." },
};

static void
prom_logging(FILE *f, const json_t *lg)
{
	const json_t *t;
	char num[24];
	size_t i;

	prom_ones(f, lg, prom_sl, PROM_N(prom_sl));
	for (size_t k = 0; k < PROM_N(prom_tgt); k++) {
		prom_family(f, prom_tgt[k][1],
		    strstr(prom_tgt[k][1], "_total") ? "counter" : "gauge",
		    prom_tgt[k][2]);
		json_array_foreach(json_object_get(lg, "targets"), i, t) {
			snprintf(num, sizeof(num), "%zu", i + 1);
			prom_sample(f, prom_tgt[k][1],
			    json_object_get(t, prom_tgt[k][0]), "target", num,
			    "type", prom_str(t, "type"), "address",
			    prom_str(t, "address"), PROM_END);
		}
	}
}

static const struct prom_one prom_sess[] = {
	{ "live", "cordon_sessions", "gauge", "Identity sessions in force." },
	{ "capacity", "cordon_session_capacity", "gauge",
	    "Sessions the table holds at most." },
	{ "entries", "cordon_session_entries", "gauge",
	    "Entries of the dataplane's session table in use." },
	{ "refused", "cordon_session_refused_total", "counter",
	    "Tokens refused (session add)." },
	{ "refused_full", "cordon_session_refused_full_total", "counter",
	    "Sessions refused because the table was full." },
	{ "refused_quota", "cordon_session_refused_quota_total", "counter",
	    "Sessions refused by the per-subject quota." },
	{ "revoked", "cordon_session_revoked_total", "counter",
	    "Sessions revoked." },
	{ "expired", "cordon_session_expired_total", "counter",
	    "Sessions that ran out." },
	{ "journal_skipped", "cordon_session_journal_skipped_total", "counter",
	    "Damaged sessions journal records skipped at start-up." },
	{ "journal_failed", "cordon_session_journal_failed_total", "counter",
	    "Sessions journal writes that failed." },
};

char *
cli_prom_format(const json_t *status, const json_t *counters,
    const json_t *rules)
{
	struct cli_prom_in in = { status, counters, rules, NULL, NULL };

	return cli_prom_format_all(&in);
}

char *
cli_prom_format_all(const struct cli_prom_in *in)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!json_is_object(in->status)) {
		errno = EINVAL;
		return NULL;
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	prom_status(f, in->status);
	prom_alarms(f, in->status);
	prom_procs(f, in->status);
	prom_confirm(f, in->status);
	if (json_is_object(in->counters))
		prom_counters(f, in->counters, in->rules);
	if (json_is_object(in->logging))
		prom_logging(f, in->logging);
	if (json_is_object(in->sessions))
		prom_ones(f, in->sessions, prom_sess, PROM_N(prom_sess));
	if (ferror(f)) {
		fclose(f);
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
