/*
 * Text output of the identity commands.  The generic renderer does the
 * layout; these only reshape the daemon's data first: unix times become
 * UTC times and "in 9m59s", a session list becomes one flat table, and
 * explain's identity walk is moved after the packet's steps.  -j output
 * never passes through here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/cli/cli.h"

long long
cli_now(void)
{
	const char *s = getenv("CORDONCTL_NOW");
	char *end;
	long long t;

	/* Golden tests pin the clock that relative times are taken from. */
	if (s && *s) {
		t = strtoll(s, &end, 10);
		if (!*end)
			return t;
	}
	return (long long)time(NULL);
}

static void
cli_fmt_span(char *buf, size_t len, long long s)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

void
cli_fmt_expiry(char *buf, size_t len, long long t, long long now)
{
	char span[48];

	cli_fmt_span(span, sizeof(span), t > now ? t - now : now - t);
	if (t > now)
		snprintf(buf, len, "in %s", span);
	else if (t == now)
		snprintf(buf, len, "now");
	else
		snprintf(buf, len, "expired %s ago", span);
}

/* "2023-11-14 22:13:20 UTC", or the number when it is out of range. */
static void
cli_fmt_utc(char *buf, size_t len, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", t);
}

/* Replaces O's integer KEY by its UTC time, "(in ...)" added when REL. */
static void
cli_sess_time(json_t *o, const char *key, int rel, long long now)
{
	json_t *v = json_object_get(o, key);
	char utc[64], left[64], both[160];

	if (!json_is_integer(v))
		return;
	cli_fmt_utc(utc, sizeof(utc), json_integer_value(v));
	if (!rel) {
		json_object_set_new(o, key, json_string(utc));
		return;
	}
	cli_fmt_expiry(left, sizeof(left), json_integer_value(v), now);
	snprintf(both, sizeof(both), "%s (%s)", utc, left);
	json_object_set_new(o, key, json_string(both));
}

void
cli_render_session(FILE *f, json_t *data, const struct cli_cmd *cmd)
{
	long long now = cli_now();
	json_t *c;

	if (!json_is_object(data) || !(c = json_deep_copy(data))) {
		cli_render_text(f, data, cmd);
		return;
	}
	cli_sess_time(c, "created", 0, now);
	cli_sess_time(c, "expires", 1, now);
	cli_render_text(f, c, cmd);
	json_decref(c);
}

/* ROW[KEY] = S[FROM], null when S lacks it (shown as "-"). */
static void
cli_sess_copy(json_t *row, const char *key, json_t *s, const char *from)
{
	json_t *v = json_object_get(s, from);

	json_object_set(row, key, v ? v : json_null());
}

/* One table row: ID SUB ISSUER SOURCE SERVICES EXPIRES VIA RELAYED. */
static json_t *
cli_sess_row(json_t *s, long long now)
{
	json_t *row = json_object(), *exp = json_object_get(s, "expires");
	char left[64];

	if (!row)
		return NULL;
	cli_sess_copy(row, "id", s, "id");
	cli_sess_copy(row, "sub", s, "sub");
	cli_sess_copy(row, "issuer", s, "issuer");
	cli_sess_copy(row, "source", s, "src");
	cli_sess_copy(row, "services", s, "services");
	if (json_is_integer(exp)) {
		cli_fmt_expiry(left, sizeof(left), json_integer_value(exp),
		    now);
		json_object_set_new(row, "expires", json_string(left));
	} else {
		cli_sess_copy(row, "expires", s, "expires");
	}
	cli_sess_copy(row, "via", s, "via");
	cli_sess_copy(row, "relayed", s, "relayed");
	return row;
}

/* An integer member as text, "-" when absent. */
static const char *
cli_sess_num(char *buf, size_t len, json_t *data, const char *key)
{
	json_t *v = json_object_get(data, key);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

/* Members of a session list beyond the table and the summary (other
 * counters a newer daemon adds), as key: value lines. */
static void
cli_sess_rest(FILE *f, json_t *data)
{
	static const char *const shown[] = { "sessions", "live", "capacity",
		"refused_full", NULL };
	json_t *rest = json_copy(data);
	int i;

	for (i = 0; rest && shown[i]; i++)
		json_object_del(rest, shown[i]);
	cli_render_text(f, rest, NULL);
	json_decref(rest);
}

void
cli_render_sessions(FILE *f, json_t *data, const struct cli_cmd *cmd)
{
	json_t *list = json_object_get(data, "sessions"), *rows, *s, *out;
	long long now = cli_now();
	char a[32], b[32], c[32];
	size_t i;

	if (!json_is_array(list) || !(rows = json_array())) {
		cli_render_text(f, data, cmd);
		return;
	}
	json_array_foreach(list, i, s) {
		json_array_append_new(rows, cli_sess_row(s, now));
	}
	if ((out = json_pack("{s:o}", "sessions", rows)))
		cli_render_text(f, out, NULL);
	json_decref(out);
	fprintf(f, "%s live of %s, %s refused (table full)\n",
	    cli_sess_num(a, sizeof(a), data, "live"),
	    cli_sess_num(b, sizeof(b), data, "capacity"),
	    cli_sess_num(c, sizeof(c), data, "refused_full"));
	cli_sess_rest(f, data);
}

/* IDENTITY with its scalars first, in the order a reader wants them
 * (whose session, then the verdict a token would get), steps last. */
static json_t *
cli_ident_ordered(json_t *id)
{
	static const char *const first[] = { "session", "issuer", "sub",
		"reason", "verdict", "verdict_reason", "rule", "rule_position",
		NULL };
	json_t *o = json_object(), *v;
	const char *k;
	int i;

	for (i = 0; o && first[i]; i++)
		if ((v = json_object_get(id, first[i])))
			json_object_set(o, first[i], v);
	/* "schema" is for -j readers, as at the top. */
	json_object_foreach(id, k, v) {
		if (o && !json_object_get(o, k) && strcmp(k, "steps") != 0 &&
		    strcmp(k, "schema") != 0)
			json_object_set(o, k, v);
	}
	/* No steps (no rule looks at identity): no empty heading. */
	if (o && (v = json_object_get(id, "steps")) &&
	    !(json_is_array(v) && json_array_size(v) == 0))
		json_object_set(o, "steps", v);
	return o;
}

void
cli_render_explain(FILE *f, json_t *data, const struct cli_cmd *cmd)
{
	json_t *id = json_object_get(data, "identity"), *rest, *sect = NULL;

	/* Without identity the output stays what it always was. */
	if (!id || !json_is_object(data) || !(rest = json_copy(data))) {
		cli_render_text(f, data, cmd);
		return;
	}
	json_object_del(rest, "identity");
	cli_render_text(f, rest, cmd);
	json_decref(rest);
	if (json_is_object(id) &&
	    (sect = json_pack("{s:o*}", "identity", cli_ident_ordered(id))))
		cli_render_text(f, sect, cmd);
	json_decref(sect);
}
