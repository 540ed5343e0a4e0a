/*
 * Prometheus text exposition (format 0.0.4) of Cordon's counters.  Built
 * from the data of the daemon's own replies (status, counters, show
 * rules), so `cordonctl show counters prometheus` and cordond's HTTP
 * listener print the same text.  Pure C and jansson: no DPDK, no daemon
 * state; cordonctl and cordond both link it from libcordon.a.
 */
#ifndef CORDON_CLI_PROM_H
#define CORDON_CLI_PROM_H

#include <stdio.h>

#include <jansson.h>

#define CLI_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The exposition of STATUS (the `status` reply's data, required),
 * COUNTERS (the `counters` reply's data, or NULL when the dataplane is
 * not up: only the daemon's own metrics are written) and RULES (the
 * `show rules` reply's data, for the rules' action label, or NULL).
 * Returns malloc'd text, or NULL with errno set (EINVAL: STATUS is not
 * an object).
 */
char *cli_prom_format(const json_t *status, const json_t *counters,
    const json_t *rules);

/*
 * The same with the replies only cordond's own state answers: LOGGING
 * (`show logging`: the syslog pipeline, its targets, the monitors) and
 * SESSIONS (`session list`, NULL without an identity group).  Any of
 * them but STATUS may be NULL.
 */
struct cli_prom_in {
	const json_t *status, *counters, *rules;
	const json_t *logging, *sessions;
};
char *cli_prom_format_all(const struct cli_prom_in *in);

/*
 * The top denied sources (the `top` reply's data, or NULL: nothing) as
 * cordon_top_window_seconds and at most CLI_PROM_TOP samples of
 * cordon_top_denied_packets{src,country,rule}.  Malloc'd, or NULL.
 */
#define CLI_PROM_TOP 20
char *cli_prom_top_format(const json_t *top);

/* Writes S as the inside of a label value: \, " and newline escaped. */
void cli_prom_label_write(FILE *f, const char *s);

#endif
