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
	prom_family(f, "cordon_log_dropped_total", "counter",
	    "Log events lost because the log ring was full.");
	prom_sample(f, "cordon_log_dropped_total",
	    json_object_get(c, "log_dropped"), PROM_END);
	prom_family(f, "cordon_log_suppressed_total", "counter",
	    "Log events over the log rate limit.");
	prom_sample(f, "cordon_log_suppressed_total",
	    json_object_get(c, "log_suppressed"), PROM_END);
}

char *
cli_prom_format(const json_t *status, const json_t *counters,
    const json_t *rules)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!json_is_object(status)) {
		errno = EINVAL;
		return NULL;
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	prom_status(f, status);
	if (json_is_object(counters))
		prom_counters(f, counters, rules);
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
