/*
 * The Prometheus exposition formatter (control/cli/cli_prom.c): label
 * values escaped as the text format 0.0.4 says (backslash, double quote,
 * newline), counters named *_total with one HELP and TYPE per family, the
 * rules' action label taken from `show rules`, and a dataplane that is
 * down leaving only the daemon's own metrics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/cli/cli_prom.h"

static const char status_json[] =
    "{\"schema\":1,\"version\":\"0.1.0\",\"running_revision\":7,"
    "\"dataplane\":{\"state\":\"up\",\"restarts\":2},"
    "\"geo\":{\"build_epoch\":1700000000,\"age_s\":86400}}";

static const char counters_json[] =
    "{\"schema\":1,\"revision\":7,\"time\":1,\"packets\":0,"
    "\"actions\":{\"allow\":5,\"drop\":3},"
    "\"reasons\":{\"rule\":7,\"default\":1},"
    "\"rules\":[{\"position\":1,\"id\":2,\"rule\":\"r\\\"1\",\"hits\":4,"
    "\"hits_since_activation\":2},{\"position\":0,\"id\":1,\"rule\":\"(default)\","
    "\"hits\":1,\"hits_since_activation\":1}],"
    "\"countries\":[{\"country\":\"CN\",\"packets\":6,\"denied\":3}],"
    "\"ports\":[{\"port\":\"out\\\\0\",\"rx_packets\":9,\"rx_bytes\":900,"
    "\"tx_packets\":8,\"tx_bytes\":800,\"tx_dropped\":1}],"
    "\"log_dropped\":11,\"log_suppressed\":12}";

static const char rules_json[] =
    "{\"schema\":1,\"rules\":[{\"position\":1,\"name\":\"r\\\"1\","
    "\"action\":\"drop\"},{\"position\":0,\"name\":\"(default)\","
    "\"action\":\"allow\"}]}";

static json_t *
parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	assert_non_null(j);
	return j;
}

static char *
label(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_prom_label_write(f, s);
	fclose(f);
	return buf;
}

static void
test_label_escape(void **state)
{
	static const char *const cases[][2] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand utf-8 \xc3\xa9", "tab\tand utf-8 \xc3\xa9" },
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = label(cases[i][0]);
		assert_string_equal(s, cases[i][1]);
		free(s);
	}
}

static char *
format_all(bool with_counters, bool with_rules)
{
	json_t *st = parse(status_json), *cn = parse(counters_json);
	json_t *ru = parse(rules_json);
	char *text;

	/* cordond hands a uint64 counter to jansson as json_int_t. */
	json_object_set_new(cn, "packets", json_integer((json_int_t)-1));
	text = cli_prom_format(st, with_counters ? cn : NULL,
	    with_rules ? ru : NULL);

	json_decref(st);
	json_decref(cn);
	json_decref(ru);
	assert_non_null(text);
	return text;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void
test_samples(void **state)
{
	char *t = format_all(true, true);

	(void)state;
	assert_true(has_line(t, "cordon_build_info{version=\"0.1.0\"} 1"));
	assert_true(has_line(t, "cordon_dataplane_up 1"));
	assert_true(has_line(t, "cordon_dataplane_restarts_total 2"));
	assert_true(has_line(t, "cordon_policy_revision 7"));
	assert_true(has_line(t, "cordon_geo_build_time_seconds 1700000000"));
	assert_true(has_line(t, "cordon_geo_age_seconds 86400"));
	/* Counters are unsigned 64-bit, whatever jansson holds them as. */
	assert_true(has_line(t, "cordon_packets_total 18446744073709551615"));
	assert_true(
	    has_line(t, "cordon_action_packets_total{action=\"drop\"} 3"));
	assert_true(has_line(t,
	    "cordon_drop_reason_packets_total{reason=\"default\"} 1"));
	assert_true(has_line(t, "cordon_rule_hits_total{id=\"2\","
	                        "rule=\"r\\\"1\",action=\"drop\"} 4"));
	assert_true(has_line(t, "cordon_rule_hits_total{id=\"1\","
	                        "rule=\"(default)\",action=\"allow\"} 1"));
	assert_true(has_line(t, "cordon_rule_hits_since_activation{"
	                        "id=\"2\",rule=\"r\\\"1\",action=\"drop\"} 2"));
	/* Position is a gauge of its own, not a label of the series. */
	assert_true(
	    has_line(t, "cordon_rule_position{id=\"2\",rule=\"r\\\"1\"} 1"));
	assert_true(
	    has_line(t, "cordon_country_packets_total{country=\"CN\"} 6"));
	assert_true(has_line(t,
	    "cordon_country_denied_packets_total{country=\"CN\"} 3"));
	assert_true(has_line(t, "cordon_port_rx_bytes_total{port=\"out\\\\0\"} "
	                        "900"));
	assert_true(
	    has_line(t, "cordon_port_tx_dropped_total{port=\"out\\\\0\"} "
	                "1"));
	assert_true(has_line(t, "cordon_log_dropped_total 11"));
	assert_true(has_line(t, "cordon_log_suppressed_total 12"));
	free(t);
}

/* Every family: HELP then TYPE, once; counters end in _total, gauges
 * do not; every sample belongs to the family announced last. */
static void
test_families(void **state)
{
	char *t = format_all(true, true), *save = NULL, *ln;
	char family[128] = "", type[16] = "", seen[4096] = " ";
	unsigned families = 0;

	(void)state;
	for (ln = strtok_r(t, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		char name[128], key[140];

		if (strncmp(ln, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(ln + 7, "%127s", family), 1);
			snprintf(key, sizeof(key), " %s ", family);
			assert_null(strstr(seen, key));
			strncat(seen, family, sizeof(seen) - strlen(seen) - 2);
			strcat(seen, " ");
			type[0] = '\0';
			families++;
			continue;
		}
		if (strncmp(ln, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(ln + 7, "%127s %15s", name,
			                     type),
			    2);
			assert_string_equal(name, family);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(name, "_total"));
			else
				assert_string_equal(type, "gauge");
			if (strcmp(type, "gauge") == 0)
				assert_null(strstr(name, "_total"));
			continue;
		}
		assert_true(type[0] != '\0');
		assert_int_equal(strncmp(ln, family, strlen(family)), 0);
		assert_true(
		    ln[strlen(family)] == '{' || ln[strlen(family)] == ' ');
	}
	/* 21, then in sync, the three of confirm, two of knocks */
	assert_int_equal(families, 27);
	free(t);
}

static void
test_dataplane_down(void **state)
{
	char *t = format_all(false, false);
	json_t *st = parse(status_json);

	(void)state;
	assert_null(strstr(t, "cordon_packets_total"));
	assert_true(has_line(t, "cordon_policy_revision 7"));
	free(t);
	json_object_set_new(json_object_get(st, "dataplane"), "state",
	    json_string("down"));
	t = cli_prom_format(st, NULL, NULL);
	assert_true(has_line(t, "cordon_dataplane_up 0"));
	free(t);
	json_decref(st);
	errno = 0;
	assert_null(cli_prom_format(NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

/* Without `show rules` (or when the rules changed in between) the
 * action label is empty, never wrong. */
static void
test_rules_action_unknown(void **state)
{
	char *t = format_all(true, false);

	(void)state;
	assert_true(has_line(t, "cordon_rule_hits_total{id=\"2\","
	                        "rule=\"r\\\"1\",action=\"\"} 4"));
	free(t);
}

/*
 * Every alarm the daemon knows has a series: 1 while raised (status
 * alarms), 0 otherwise, so that a cleared alarm reads 0 (issue 14).
 */
static void
test_alarms(void **state)
{
	json_t *st = parse(status_json);
	char *t;

	(void)state;
	json_object_set_new(st, "alarm_names",
	    json_pack("[s, s]", "geo-stale", "dataplane-restarted"));
	json_object_set_new(st, "alarms",
	    json_pack("[{s:s, s:b}]", "name", "dataplane-restarted",
	        "acknowledged", 1));
	t = cli_prom_format(st, NULL, NULL);
	assert_true(has_line(t, "# TYPE cordon_alarm_active gauge"));
	assert_true(has_line(t, "cordon_alarm_active{alarm=\"geo-stale\"} 0"));
	assert_true(has_line(t,
	    "cordon_alarm_active{alarm=\"dataplane-restarted\"} 1"));
	assert_true(
	    has_line(t, "cordon_alarm_acknowledged{alarm=\"geo-stale\"} 0"));
	assert_true(has_line(t,
	    "cordon_alarm_acknowledged{alarm=\"dataplane-restarted\"} 1"));
	free(t);
	json_decref(st);
}

/*
 * cordond's children (issue 15): up and restarts per process, from
 * status.processes; none listed, no family at all.
 */
static void
test_processes(void **state)
{
	json_t *st = parse(status_json);
	char *t = cli_prom_format(st, NULL, NULL);

	(void)state;
	assert_null(strstr(t, "cordon_process_"));
	free(t);
	json_object_set_new(st, "processes",
	    json_pack("[{s:s, s:b, s:i, s:i}, {s:s, s:b, s:i, s:i}]", "name",
	        "identity", "ready", 1, "crashes", 3, "refused", 1, "name",
	        "fetch", "ready", 0, "crashes", 0, "refused", 0));
	t = cli_prom_format(st, NULL, NULL);
	assert_true(has_line(t, "# TYPE cordon_process_up gauge"));
	assert_true(has_line(t, "cordon_process_up{process=\"identity\"} 1"));
	assert_true(has_line(t, "cordon_process_up{process=\"fetch\"} 0"));
	assert_true(
	    has_line(t, "# TYPE cordon_process_restarts_total counter"));
	assert_true(has_line(t,
	    "cordon_process_restarts_total{process=\"identity\"} 3"));
	assert_true(has_line(t,
	    "cordon_process_refused_total{process=\"identity\"} 1"));
	free(t);
	json_decref(st);
}

/*
 * What only cordond's own state knows (issue 14): in sync, a pending
 * commit confirmed, the syslog pipeline and its targets, the monitors,
 * the sessions and cordond's knock verdicts.
 */
static void
test_daemon_state(void **state)
{
	json_t *st = parse("{\"schema\":1,\"dataplane\":{\"state\":\"up\","
	                   "\"in_sync\":false},\"confirm\":{\"revision\":9,"
	                   "\"deadline\":1700000300}}");
	json_t *cn = parse("{\"knock_dropped\":4,\"knock_unsent\":5,"
	                   "\"knocks\":{\"ok\":2,\"bad-mac\":1}}");
	json_t *lg = parse("{\"events\":7,\"monitors\":2,\"targets\":["
	                   "{\"target\":1,\"type\":\"tcp\",\"address\":"
	                   "\"s\\\"iem\",\"dropped\":3,\"queued\":1}]}");
	json_t *ss = parse("{\"live\":6,\"refused\":2,\"capacity\":64}");
	struct cli_prom_in in = { st, cn, NULL, lg, ss };
	char *t = cli_prom_format_all(&in);

	(void)state;
	assert_non_null(t);
	assert_true(has_line(t, "cordon_dataplane_in_sync 0"));
	assert_true(has_line(t, "cordon_confirm_pending 1"));
	assert_true(has_line(t, "cordon_confirm_deadline_seconds 1700000300"));
	assert_true(has_line(t, "cordon_confirm_revision 9"));
	assert_true(has_line(t, "cordon_syslog_events_total 7"));
	assert_true(has_line(t, "cordon_monitors 2"));
	assert_true(
	    has_line(t, "cordon_syslog_target_dropped_total{target=\"1\","
	                "type=\"tcp\",address=\"s\\\"iem\"} 3"));
	assert_true(has_line(t, "cordon_syslog_target_queued{target=\"1\","
	                        "type=\"tcp\",address=\"s\\\"iem\"} 1"));
	assert_true(has_line(t, "cordon_sessions 6"));
	assert_true(has_line(t, "cordon_session_capacity 64"));
	assert_true(has_line(t, "cordon_session_refused_total 2"));
	assert_true(has_line(t, "cordon_knock_dropped_total 4"));
	assert_true(has_line(t, "cordon_knock_unsent_total 5"));
	assert_true(has_line(t, "cordon_knocks_total{result=\"ok\"} 2"));
	assert_true(has_line(t, "cordon_knocks_total{result=\"bad-mac\"} 1"));
	free(t);
	/* None pending: the family, no sample. */
	json_object_set_new(st, "confirm", json_null());
	t = cli_prom_format_all(&in);
	assert_true(has_line(t, "cordon_confirm_pending 0"));
	assert_null(strstr(t, "cordon_confirm_deadline_seconds 1"));
	free(t);
	json_decref(st);
	json_decref(cn);
	json_decref(lg);
	json_decref(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_dataplane_down),
		cmocka_unit_test(test_rules_action_unknown),
		cmocka_unit_test(test_alarms),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_daemon_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
