/*
 * Top denied sources in the Prometheus exposition (docs/prometheus.md):
 * the rows of the `top` reply, at most CLI_PROM_TOP of them.  Bounded on
 * purpose: every label set is a series Prometheus keeps for its whole
 * retention, and denied sources are chosen by whoever sends the
 * packets, so one series per source ever seen would let a scan of the
 * address space grow the time-series database without limit.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdlib.h>

#include "control/cli/cli_prom.h"

static void
prom_top_row(FILE *f, const json_t *r)
{
	static const char *const keys[][2] = { { "src", "source" },
		{ "country", "country" }, { "rule", "rule" } };
	const json_t *n = json_object_get(r, "packets");

	if (!json_is_integer(n))
		return;
	fputs("cordon_top_denied_packets", f);
	for (unsigned i = 0; i < 3; i++) {
		const char *v =
		    json_string_value(json_object_get(r, keys[i][1]));

		fprintf(f, "%s%s=\"", i ? "," : "{", keys[i][0]);
		cli_prom_label_write(f, v ? v : "");
		fputc('"', f);
	}
	fprintf(f, "} %" JSON_INTEGER_FORMAT "\n", json_integer_value(n));
}

char *
cli_prom_top_format(const json_t *top)
{
	const json_t *rows = json_object_get(top, "top"), *r;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	if (json_is_object(top)) {
		fprintf(f,
		    "# HELP cordon_top_window_seconds The sliding window of "
		    "the top denied sources.\n"
		    "# TYPE cordon_top_window_seconds gauge\n"
		    "cordon_top_window_seconds %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(json_object_get(top, "window")));
		fprintf(f,
		    "# HELP cordon_top_denied_packets Denied packets in the "
		    "window of the %d sources denied most, per rule and "
		    "country.\n"
		    "# TYPE cordon_top_denied_packets gauge\n",
		    CLI_PROM_TOP);
		json_array_foreach(rows, i, r)
			if (i < CLI_PROM_TOP)
				prom_top_row(f, r);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
