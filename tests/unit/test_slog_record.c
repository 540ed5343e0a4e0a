/*
 * What cordond and cordon-dp's syslog fallback share: the packet record
 * (wire/dpc_record.c), the rate limit (core/slog/sl_rate.c), and the
 * check of the SYSLOG message that hands the targets over
 * (wire/dpc_proto.c, dpc_syslog_check).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/policy/policy.h"
#include "core/slog/sl_rate.h"
#include "core/stats/reasons.h"
#include "wire/dpc_record.h"

static const char *
param(const struct dpc_record *r, const char *name)
{
	for (unsigned i = 0; i < r->nsd; i++)
		if (strcmp(r->sd[i].name, name) == 0)
			return r->sd[i].value;
	return NULL;
}

static struct dpc_wire_event
event_v4(void)
{
	struct dpc_wire_event ev;
	const uint8_t src[4] = { 198, 51, 100, 7 }, dst[4] = { 192, 0, 2, 80 };

	memset(&ev, 0, sizeof(ev));
	memcpy(ev.src, src, 4);
	memcpy(ev.dst, dst, 4);
	ev.af = 4;
	ev.proto = 6;
	ev.sport = 40000;
	ev.dport = 22;
	ev.flags = DPC_EV_PORTS;
	ev.action = CDN_ACT_DROP;
	ev.reason = CDN_R_RULE;
	ev.src_cc = (uint16_t)geo_cc_parse("CN");
	ev.rule = 1;
	ev.service = 0;
	ev.count = 3;
	return ev;
}

static void
test_record_fields(void **state)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct dpc_wire_event ev = event_v4();
	struct dpc_record r;

	(void)state;
	assert_non_null(p);
	p->nrules = 2;
	snprintf(p->rule[1].name, POL_NAME_MAX, "cn-ssh-deny");
	p->nservices = 1;
	snprintf(p->service_name[0], POL_NAME_MAX, "ssh");
	dpc_record_fill(&r, &ev, p, "outside0", 3, 1000000, 2000000);
	assert_string_equal(r.msgid, "deny");
	assert_int_equal(r.severity, SL_WARNING);
	assert_string_equal(r.sd[0].name, "rule");
	assert_string_equal(param(&r, "rule"), "cn-ssh-deny");
	assert_string_equal(param(&r, "src"), "198.51.100.7");
	assert_string_equal(param(&r, "dport"), "22");
	assert_string_equal(param(&r, "service"), "ssh");
	assert_string_equal(param(&r, "srccountry"), "CN");
	assert_string_equal(param(&r, "port"), "outside0");
	assert_string_equal(param(&r, "repeat_count"), "3");
	assert_string_equal(param(&r, "first"), "1970-01-01T00:00:01.000000Z");
	assert_null(param(&r, "origin"));
	assert_null(param(&r, "fragment"));
	assert_string_equal(r.msg,
	    "drop tcp 198.51.100.7 -> 192.0.2.80 port 22 rule cn-ssh-deny, "
	    "3 packets");
	/* The fallback's marker goes last, after every field. */
	assert_int_equal(dpc_record_add(&r, "fallback", "true"), 0);
	assert_string_equal(r.sd[r.nsd - 1].name, "fallback");
	free(p);
}

static void
test_record_without_policy(void **state)
{
	struct dpc_wire_event ev = event_v4();
	const uint8_t o[4] = { 203, 0, 113, 9 };
	struct dpc_record r;

	(void)state;
	ev.proto = 1;
	ev.flags = DPC_EV_FRAG;
	ev.action = CDN_ACT_REROUTE;
	ev.origin_af = 4;
	memcpy(ev.origin, o, 4);
	dpc_record_fill(&r, &ev, NULL, NULL, 1, -1, -1);
	assert_string_equal(r.msgid, "reroute");
	assert_int_equal(r.severity, SL_NOTICE);
	assert_string_equal(param(&r, "rule"), "#2");
	assert_string_equal(param(&r, "proto"), "icmp");
	assert_string_equal(param(&r, "origin"), "203.0.113.9");
	assert_string_equal(param(&r, "fragment"), "true");
	assert_string_equal(param(&r, "first"), "-");
	assert_null(param(&r, "dport"));
	assert_null(param(&r, "service"));
	assert_null(param(&r, "port"));
	ev.rule = POL_RULE_DEFAULT;
	ev.action = CDN_ACT_ALLOW;
	dpc_record_fill(&r, &ev, NULL, NULL, 1, 0, 0);
	assert_string_equal(param(&r, "rule"), "(default)");
	assert_int_equal(r.severity, SL_INFO);
	while (r.nsd < DPC_REC_PARAMS)
		assert_int_equal(dpc_record_add(&r, "x", "y"), 0);
	assert_int_equal(dpc_record_add(&r, "x", "y"), -1);
}

/*
 * A rule or port name that tries to close the value, the element or the
 * line, in the fallback's record as it goes out: '"', '\\' and ']'
 * escaped in every PARAM-VALUE (RFC 5424, 6.3.3), control bytes
 * replaced, one SD-ELEMENT closed once, one line.
 */
static void
test_record_injection(void **state)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct dpc_wire_event ev = event_v4();
	char buf[SL_MSG_MAX];
	const char *c, *sd;
	struct dpc_record r;
	struct sl_msg m = { .facility = 1, .unix_us = 0, .app = "cordon-dp" };
	int quoted = 0, closes = 0;

	(void)state;
	assert_non_null(p);
	p->nrules = 2;
	snprintf(p->rule[1].name, POL_NAME_MAX, "a\"] x=\"y\\\r\n <1>1 z");
	dpc_record_fill(&r, &ev, p, "p]\"0\n", 1, 0, 0);
	assert_int_equal(dpc_record_add(&r, "fallback", "true"), 0);
	m.severity = r.severity;
	m.msgid = r.msgid;
	m.sd = r.sd;
	m.nsd = r.nsd;
	m.msg = r.msg;
	assert_true(sl_format(&m, buf, sizeof(buf)) > 0);
	assert_null(strpbrk(buf, "\r\n"));
	assert_non_null(strstr(buf, " rule=\"a\\\"\\] x=\\\"y\\\\?? <1>1 z\""));
	assert_non_null(strstr(buf, " port=\"p\\]\\\"0?\""));
	assert_non_null(sd = strstr(buf, "[cordon@32473 "));
	for (c = sd; *c; c++) {
		if (quoted && *c == '\\')
			c++;
		else if (*c == '"')
			quoted = !quoted;
		else if (!quoted && *c == ']')
			closes++;
	}
	assert_int_equal(closes, 1);
	assert_false(quoted);
	assert_non_null(strstr(buf, " fallback=\"true\"] "));
	free(p);
}

static void
test_bucket(void **state)
{
	struct sl_bucket b;

	(void)state;
	sl_bucket_init(&b, 5, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(sl_bucket_take(&b, 1000));
	assert_false(sl_bucket_take(&b, 1000));
	assert_false(sl_bucket_take(&b, 1100)); /* half a token */
	assert_true(sl_bucket_take(&b, 1200));
	/* A long pause refills to the depth, no more. */
	for (int i = 0; i < 5; i++)
		assert_true(sl_bucket_take(&b, 60000));
	assert_false(sl_bucket_take(&b, 60000));
	/* A clock that does not move forward adds nothing. */
	assert_false(sl_bucket_take(&b, 50000));
}

static struct dpc_msg_syslog
syslog_msg(void)
{
	struct dpc_msg_syslog m;

	memset(&m, 0, sizeof(m));
	m.version = DPC_PROTO_VERSION;
	m.facility = 19;
	m.rate = 100;
	m.ntargets = 3;
	m.target[0].type = DPC_LOG_UDP;
	m.target[0].port = 514;
	snprintf(m.target[0].address, DPC_SYSLOG_ADDR, "2001:db8::1");
	m.target[1].type = DPC_LOG_LOCAL;
	snprintf(m.target[1].address, DPC_SYSLOG_ADDR, "/dev/log");
	m.target[2].type = DPC_LOG_TLS;
	m.target[2].port = 6514;
	snprintf(m.target[2].address, DPC_SYSLOG_ADDR, "192.0.2.1");
	return m;
}

static void
refused(struct dpc_msg_syslog *m, int errnum, const char *what)
{
	char err[200];

	assert_int_equal(dpc_syslog_check(m, err, sizeof(err)), -1);
	assert_int_equal(errno, errnum);
	assert_non_null(strstr(err, what));
	*m = syslog_msg();
}

static void
test_syslog_check(void **state)
{
	struct dpc_msg_syslog m = syslog_msg();
	char err[200];

	(void)state;
	assert_int_equal(dpc_syslog_check(&m, err, sizeof(err)), 0);
	m.version = 2;
	refused(&m, EPROTO, "protocol version 2");
	m.facility = 24;
	refused(&m, EINVAL, "facility 24");
	m.rate = 0;
	refused(&m, EINVAL, "rate 0");
	m.ntargets = DPC_SYSLOG_TARGETS + 1;
	refused(&m, EINVAL, "9 syslog targets");
	m.target[1].type = 0;
	refused(&m, EINVAL, "target 2: type 0");
	memset(m.target[1].address, 'a', DPC_SYSLOG_ADDR);
	refused(&m, EINVAL, "target 2: address empty or not terminated");
	m.target[1].address[0] = '\0';
	refused(&m, EINVAL, "target 2: address empty");
	m.target[0].port = 70000;
	refused(&m, EINVAL, "target 1: port 70000");
	snprintf(m.target[0].address, DPC_SYSLOG_ADDR, "syslog.example");
	refused(&m, EINVAL, "not a numeric address");
	/* Only the targets counted are read. */
	m.ntargets = 1;
	m.target[1].type = 99;
	assert_int_equal(dpc_syslog_check(&m, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_record_without_policy),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_record_injection),
		cmocka_unit_test(test_syslog_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
