/*
 * Text output for any reply, without knowing the command: objects as
 * aligned "key: value" lines, arrays of flat objects as tables (columns
 * in the first object's key order), nested objects indented, multi-line
 * strings (diffs, config text) raw.  "schema" is for -j readers only.
 */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/cli/cli.h"

#define CLI_COLS_MAX 32

struct cli_render {
	FILE *f;
	const char *numbered; /* member printed as "1. ..." lines */
};

static void cli_render_object(struct cli_render *r, json_t *o, int ind,
    int top);
static void cli_render_array(struct cli_render *r, json_t *a, int ind);

static int
cli_is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static int
cli_is_multiline(const json_t *v)
{
	return json_is_string(v) && strchr(json_string_value(v), '\n');
}

/* A scalar, or an array of scalars: fits on one line or in a cell. */
static int
cli_is_inline(const json_t *v)
{
	size_t i;
	json_t *e;

	if (cli_is_multiline(v) || json_is_object(v))
		return 0;
	json_array_foreach(v, i, e)
		if (!cli_is_scalar(e) || cli_is_multiline(e))
			return 0;
	return 1;
}

static int
cli_is_flat(const json_t *o)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return 0;
	json_object_foreach((json_t *)o, k, v)
		if (!cli_is_inline(v))
			return 0;
	return 1;
}

/*
 * S (malloc'd) with its control bytes as '?', but for newlines and tabs
 * when KEEP_LINES: what cordond sends is printed to a terminal, and a
 * name someone chose must not carry escape sequences (or a carriage
 * return that overwrites the line) to it.
 */
static char *
cli_clean(char *s, int keep_lines)
{
	for (char *p = s; p != NULL && *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 || *p == 0x7f) &&
		    !(keep_lines && (*p == '\n' || *p == '\t')))
			*p = '?';
	return s;
}

/* Formats an inline value into a malloc'd string: null "-", booleans
 * yes/no, arrays comma-joined, an empty string or array "-". */
static char *
cli_fmt(const json_t *v)
{
	char *s = NULL, *e, *t;
	size_t i;
	json_t *x;

	if (!v)
		return strdup("-");
	switch (json_typeof(v)) {
	case JSON_STRING:
		return cli_clean(strdup(json_string_length(v)
		                            ? json_string_value(v)
		                            : "-"),
		    0);
	case JSON_INTEGER:
		return asprintf(&s, "%" JSON_INTEGER_FORMAT,
		           json_integer_value(v)) < 0
		           ? NULL
		           : s;
	case JSON_REAL:
		return asprintf(&s, "%.6g", json_real_value(v)) < 0 ? NULL : s;
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_ARRAY:
		json_array_foreach(v, i, x) {
			e = cli_fmt(x);
			if (asprintf(&t, "%s%s%s", s ? s : "", s ? "," : "",
			        e ? e : "") < 0)
				t = NULL;
			free(e);
			free(s);
			if (!(s = t))
				return NULL;
		}
		return s ? s : strdup("-");
	default:
		return strdup("-");
	}
}

/* Members whose integer is a unix time: ISO 8601 UTC in text, as the
 * audit log has it; -j keeps the number. */
static const char *const cli_time_keys[] = { "time", "started", "activated",
	"since", "alarm_since", "deadline", "confirm_deadline", "build_epoch",
	"acked_at", "up_since", NULL };

static char *
cli_fmt_time(long long t)
{
	time_t tt = (time_t)t;
	char buf[32];
	struct tm tm;

	/* 0 is "never" (no alarm, no deadline). */
	if (t == 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return strdup(t == 0 ? "-" : "?");
	return strdup(buf);
}

static int
cli_is_time_key(const char *key)
{
	int i;

	for (i = 0; key && cli_time_keys[i]; i++)
		if (strcmp(key, cli_time_keys[i]) == 0)
			return 1;
	return 0;
}

/* cli_fmt, knowing the member's KEY: times, and VLAN -1 (untagged). */
static char *
cli_fmt_key(const char *key, const json_t *v)
{
	if (!key || !json_is_integer(v))
		return cli_fmt(v);
	if (strcmp(key, "vlan") == 0 && json_integer_value(v) < 0)
		return strdup("untagged");
	if (cli_is_time_key(key))
		return cli_fmt_time(json_integer_value(v));
	return cli_fmt(v);
}

static void
cli_print_raw(FILE *f, const char *s)
{
	char *c = cli_clean(strdup(s), 1);
	size_t n = strlen(s);

	fputs(c ? c : "", f);
	if (n && s[n - 1] != '\n')
		fputc('\n', f);
	free(c);
}

static int
cli_is_number_col(json_t *a, const char *key)
{
	json_t *row, *v;
	size_t i;
	int seen = 0;

	json_array_foreach(a, i, row) {
		v = json_object_get(row, key);
		if (v && !json_is_null(v) && !json_is_number(v))
			return 0;
		seen |= json_is_number(v);
	}
	return seen;
}

/* Columns: every key, in order of first appearance. */
static int
cli_table_cols(json_t *a, const char **cols)
{
	const char *k;
	json_t *row, *v;
	size_t i;
	int n = 0, c;

	json_array_foreach(a, i, row) {
		json_object_foreach(row, k, v) {
			for (c = 0; c < n && strcmp(cols[c], k); c++)
				;
			if (c == n && n < CLI_COLS_MAX)
				cols[n++] = k;
		}
	}
	return n;
}

static void
cli_table_cell(FILE *f, const char *s, int w, int right, int last)
{
	if (right)
		fprintf(f, "%*s", w, s);
	else
		fprintf(f, "%-*s", last ? 0 : w, s);
	fputs(last ? "\n" : "  ", f);
}

/* A table; NUMBERED: no header, each row led by "N. " (explain steps). */
static void
cli_render_table(struct cli_render *r, json_t *a, int ind, int numbered)
{
	const char *cols[CLI_COLS_MAX];
	int w[CLI_COLS_MAX], num[CLI_COLS_MAX], n, c, k;
	size_t rows = json_array_size(a), i;
	char **cell = calloc((rows + 1) * CLI_COLS_MAX, sizeof(*cell));

	if (!cell)
		return;
	n = cli_table_cols(a, cols);
	for (c = 0; c < n; c++) {
		cell[c] = strdup(cols[c]);
		for (k = 0; cell[c] && cell[c][k]; k++)
			cell[c][k] = (char)toupper((unsigned char)cell[c][k]);
		num[c] = cli_is_number_col(a, cols[c]) &&
		         !cli_is_time_key(cols[c]) && strcmp(cols[c], "vlan");
		w[c] = cell[c] ? (int)strlen(cell[c]) : 0;
		for (i = 0; i < rows; i++) {
			char **s = &cell[(i + 1) * CLI_COLS_MAX + c];

			*s = cli_fmt_key(cols[c],
			    json_object_get(json_array_get(a, i), cols[c]));
			if (*s && (int)strlen(*s) > w[c])
				w[c] = (int)strlen(*s);
		}
	}
	for (i = numbered ? 1 : 0; i <= rows; i++) {
		fprintf(r->f, "%*s", ind, "");
		if (numbered)
			fprintf(r->f, "%*zu. ", rows > 9 ? 2 : 1, i);
		for (c = 0; c < n; c++)
			cli_table_cell(r->f,
			    cell[i * CLI_COLS_MAX + c]
			        ? cell[i * CLI_COLS_MAX + c]
			        : "?",
			    w[c], num[c], c == n - 1);
	}
	for (i = 0; i < (rows + 1) * CLI_COLS_MAX; i++)
		free(cell[i]);
	free(cell);
}

static void
cli_render_array(struct cli_render *r, json_t *a, int ind)
{
	size_t i, flat = 0;
	json_t *e;
	char *s;

	if (json_array_size(a) == 0) {
		fprintf(r->f, "%*s(none)\n", ind, "");
		return;
	}
	json_array_foreach(a, i, e)
		flat += cli_is_flat(e);
	if (flat == json_array_size(a)) {
		cli_render_table(r, a, ind, 0);
		return;
	}
	json_array_foreach(a, i, e) {
		if (json_is_object(e)) {
			if (i)
				fputc('\n', r->f);
			cli_render_object(r, e, ind, 0);
		} else if (json_is_array(e)) {
			cli_render_array(r, e, ind + 2);
		} else if (cli_is_multiline(e)) {
			cli_print_raw(r->f, json_string_value(e));
		} else if ((s = cli_fmt(e))) {
			fprintf(r->f, "%*s%s\n", ind, "", s);
			free(s);
		}
	}
}

static void
cli_render_numbered(struct cli_render *r, json_t *a, int ind)
{
	size_t i, flat = 0;
	json_t *e;
	char *s;

	json_array_foreach(a, i, e)
		flat += cli_is_flat(e);
	if (flat && flat == json_array_size(a)) {
		cli_render_table(r, a, ind, 1);
		return;
	}
	json_array_foreach(a, i, e) {
		s = cli_fmt(e);
		fprintf(r->f, "%*s%zu. %s\n", ind, "", i + 1, s ? s : "");
		free(s);
	}
}

static int
cli_key_width(json_t *o, int top)
{
	const char *k;
	json_t *v;
	int w = 0;

	json_object_foreach(o, k, v)
		if (!(top && strcmp(k, "schema") == 0) && cli_is_inline(v) &&
		    (int)strlen(k) > w)
			w = (int)strlen(k);
	return w;
}

static void
cli_render_member(struct cli_render *r, const char *k, json_t *v, int ind,
    int w)
{
	char *s;

	/* Numbered lines, or "-" inline when there are none. */
	if (json_array_size(v) > 0 && r->numbered && !strcmp(k, r->numbered)) {
		fprintf(r->f, "%*s%s:\n", ind, "", k);
		cli_render_numbered(r, v, ind + 2);
	} else if (cli_is_inline(v)) {
		s = cli_fmt_key(k, v);
		fprintf(r->f, "%*s%s:%*s %s\n", ind, "", k, w - (int)strlen(k),
		    "", s ? s : "?");
		free(s);
	} else if (cli_is_multiline(v)) {
		fprintf(r->f, "%*s%s:\n", ind, "", k);
		cli_print_raw(r->f, json_string_value(v));
	} else {
		fprintf(r->f, "%*s%s:\n", ind, "", k);
		if (json_is_object(v))
			cli_render_object(r, v, ind + 2, 0);
		else
			cli_render_array(r, v, ind + 2);
	}
}

static void
cli_render_object(struct cli_render *r, json_t *o, int ind, int top)
{
	const char *k, *only = NULL;
	int w = cli_key_width(o, top), n = 0;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (top && !strcmp(k, "schema"))
			continue;
		only = k;
		n++;
	}
	/* A reply that is one list or one text ("rules", "diff"): the
	 * table or the text alone, without its key. */
	v = only ? json_object_get(o, only) : NULL;
	if (top && n == 1 && !(r->numbered && !strcmp(only, r->numbered)) &&
	    (json_is_array(v) || cli_is_multiline(v))) {
		if (json_is_array(v))
			cli_render_array(r, v, ind);
		else
			cli_print_raw(r->f, json_string_value(v));
		return;
	}
	json_object_foreach(o, k, v)
		if (!(top && !strcmp(k, "schema")))
			cli_render_member(r, k, v, ind, w);
}

void
cli_render_text(FILE *f, json_t *data, const struct cli_cmd *cmd)
{
	struct cli_render r = { f, cmd ? cmd->numbered : NULL };
	char *s;

	if (!data || json_is_null(data))
		return;
	if (json_is_object(data)) {
		cli_render_object(&r, data, 0, 1);
	} else if (json_is_array(data)) {
		cli_render_array(&r, data, 0);
	} else if (cli_is_multiline(data)) {
		cli_print_raw(f, json_string_value(data));
	} else if ((s = cli_fmt(data))) {
		fprintf(f, "%s\n", s);
		free(s);
	}
}
