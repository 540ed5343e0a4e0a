/*
 * Requests: {"v": 1, "cmd": NAME, "args": {...}} -> one handler each.
 * The read-only socket reaches only the commands that change nothing.
 * Also the handlers that only report: status, counters, audit-verify.
 */
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"
#include "control/ident/knock.h"
#include "core/stats/reasons.h"

static const struct {
	const char *name;
	bool ro; /* allowed on the read-only socket */
	cd_cmd_fn *fn;
} cd_cmds[] = {
	{ "status", true, cd_cmd_status },
	{ "counters", true, cd_cmd_counters },
	{ "show", true, cd_cmd_show },
	{ "lookup", true, cd_cmd_lookup },
	{ "explain", true, cd_cmd_explain },
	{ "audit-verify", true, cd_cmd_audit_verify },
	{ "set", false, cd_cmd_set },
	{ "delete", false, cd_cmd_delete },
	{ "compare", false, cd_cmd_compare },
	{ "commit", false, cd_cmd_commit },
	{ "confirm", false, cd_cmd_confirm },
	{ "rollback", false, cd_cmd_rollback },
	{ "discard", false, cd_cmd_discard },
	{ "update", false, cd_cmd_update },
	{ "geo-reload", false, cd_cmd_geo_reload },
	{ "session-add", false, cd_cmd_session_add },
	{ "session-list", true, cd_cmd_session_list },
	{ "session-revoke", false, cd_cmd_session_revoke },
	{ "alarm-list", true, cd_cmd_alarm_list },
	{ "alarm-ack", false, cd_cmd_alarm_ack },
	{ "alarm-clear", false, cd_cmd_alarm_clear },
	{ "monitor", true, cd_cmd_monitor },
	{ "complete", true, cd_cmd_complete },
	{ "load", false, cd_cmd_load },
	{ "rename", false, cd_cmd_rename },
	{ "clear-counters", false, cd_cmd_clear },
	{ "top", true, cd_cmd_top },
};

static json_t *
cd_reply_err(const struct cd_err *e)
{
	return json_pack("{s:i, s:b, s:{s:s, s:s}}", "v", 1, "ok", 0, "error",
	    "code", e->code, "message", e->msg);
}

/*
 * Requests are decoded with NUL allowed in strings, so that a token
 * holding one reaches the verifier and is refused there by name.  Any
 * other string with a NUL is refused: C code reading it would stop at
 * the NUL and see less than the client sent.
 */
static bool
cd_nul_free(json_t *v, const json_t *token)
{
	const char *k;
	json_t *m;
	size_t i;

	if (v == token)
		return true;
	if (json_is_string(v))
		return strlen(json_string_value(v)) == json_string_length(v);
	json_object_foreach(v, k, m)
		if (!cd_nul_free(m, token))
			return false;
	json_array_foreach(v, i, m)
		if (!cd_nul_free(m, token))
			return false;
	return true;
}

static int
cd_req_parse(json_t *req, struct cd_req *rq, struct cd_err *e)
{
	json_t *v = json_object_get(req, "v"), *tok;

	if (!json_is_object(req))
		return cd_fail(e, "bad-request", "a request is a JSON object");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return cd_fail(e, "bad-request", "\"v\" must be 1");
	rq->cmd = json_string_value(json_object_get(req, "cmd"));
	if (rq->cmd == NULL)
		return cd_fail(e, "bad-request", "\"cmd\" must be a string");
	v = json_object_get(req, "deadline_ms");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) <= 0))
		return cd_fail(e, "bad-request",
		    "\"deadline_ms\" must be a "
		    "positive integer (CLOCK_MONOTONIC milliseconds)");
	rq->deadline_ms = v != NULL ? (int64_t)json_integer_value(v) : 0;
	rq->args = json_object_get(req, "args");
	if (rq->args != NULL && !json_is_object(rq->args))
		return cd_fail(e, "bad-request", "\"args\" must be an object");
	tok = json_object_get(rq->args, "token");
	if (!cd_nul_free(req, json_is_string(tok) ? tok : NULL))
		return cd_fail(e, "bad-request",
		    "a NUL byte in a string "
		    "(only a token may hold one, for the verifier to refuse)");
	return 0;
}

static int
cd_cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cd_cmds) / sizeof(cd_cmds[0]); i++)
		if (strcmp(cd_cmds[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Runs command I for RQ, unless its client has gone or its deadline has
 * passed (cd_client_admit): 1 when it ran, 0 refused or not run (E
 * filled), -1 when no one is there to answer.
 */
static int
cd_cmd_serve(struct cd *d, int i, struct cd_req *rq, const struct cd_client *c,
    json_t **data, struct cd_err *e)
{
	int adm;

	if (c->ro && !cd_cmds[i].ro) {
		cd_fail(e, "denied",
		    "\"%s\" is not allowed on the "
		    "read-only socket",
		    rq->cmd);
		return 0;
	}
	adm = cd_client_admit(d, c, rq->deadline_ms, !cd_cmds[i].ro, e);
	if (adm <= 0) {
		cd_log("uid %d pid %d: %s not served: %s", (int)c->uid,
		    (int)c->pid, rq->cmd,
		    adm < 0 ? "the client has gone" : e->msg);
		return adm;
	}
	if (!cd_cmds[i].ro && cd_audit_ready(d) < 0) {
		cd_fail(e, "internal",
		    "the audit log %s cannot take a record "
		    "(see cordonctl audit verify): changes are refused",
		    d->audit_path);
		return 0;
	}
	return cd_cmds[i].fn(d, rq, data, e) < 0 ? 0 : 1;
}

/* The reply to REQ from C; NULL when C has gone and gets none. */
json_t *
cd_cmd_run(struct cd *d, json_t *req, const struct cd_client *c)
{
	struct cd_req rq = { .uid = c->uid, .pid = c->pid, .ro = c->ro };
	json_t *data = NULL, *empty = json_object();
	struct cd_err e = { 0 };
	int rc = 0, i;

	if (cd_req_parse(req, &rq, &e) < 0)
		goto out;
	if (rq.args == NULL)
		rq.args = empty;
	if ((i = cd_cmd_find(rq.cmd)) < 0)
		cd_fail(&e, "unknown-command", "unknown command \"%s\"",
		    rq.cmd);
	else
		rc = cd_cmd_serve(d, i, &rq, c, &data, &e);
out:
	json_decref(empty);
	if (rc <= 0) {
		json_decref(data);
		if (rc < 0)
			return NULL;
		cd_debug("uid %d: %s: %s: %s", (int)c->uid,
		    rq.cmd ? rq.cmd : "?", e.code, e.msg);
		return cd_reply_err(&e);
	}
	return json_pack("{s:i, s:b, s:o}", "v", 1, "ok", 1, "data", data);
}

static json_t *
cd_hash_json(const uint8_t *h)
{
	char hex[2 * DPC_HASH_LEN + 1];

	cd_hex(h, DPC_HASH_LEN, hex);
	return json_string(hex);
}

/* What confines cordon-dp (cordon-dp(8), SANDBOX). */
static const char *
cd_dp_sandbox(const struct cd *d)
{
	static char s[32];

	if (d->dp_state != CD_DP_UP)
		return "";
	if (!d->dpst.sandbox)
		return "off";
	if (d->dpst.landlock == 0)
		return "no-landlock";
	snprintf(s, sizeof(s), "landlock-%u", d->dpst.landlock);
	return s;
}

static json_t *
cd_status_dp(struct cd *d)
{
	json_t *o = json_object();
	char ports[DPC_PORT_MAX * (DPC_NAME_MAX + 1)] = "";
	bool up = d->dp_state == CD_DP_UP;
	const struct cd_alarm_row *dpa = &d->alarms[CD_AL_DP_RESTARTED];

	for (unsigned i = 0; up && i < d->dpst.nports && i < DPC_PORT_MAX; i++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports),
		    "%s%.*s", i ? " " : "", DPC_NAME_MAX, d->dpst.port[i]);
	json_object_set_new(o, "state",
	    json_string(cd_dp_state_name(d->dp_state)));
	json_object_set_new(o, "pid", json_integer(d->dp_pid));
	json_object_set_new(o, "revision",
	    json_integer(up ? (json_int_t)d->dpst.revision : 0));
	json_object_set_new(o, "in_sync", json_boolean(cd_dp_in_sync(d)));
	json_object_set_new(o, "restarts", json_integer(d->restarts));
	json_object_set_new(o, "alarm",
	    dpa->active ? json_string(cd_alarm_name(CD_AL_DP_RESTARTED))
	                : json_null());
	json_object_set_new(o, "alarm_since",
	    json_integer(dpa->active ? dpa->raised : 0));
	json_object_set_new(o, "workers",
	    json_integer(up ? d->dpst.workers : 0));
	json_object_set_new(o, "ports", json_string(ports));
	json_object_set_new(o, "sandbox", json_string(cd_dp_sandbox(d)));
	json_object_set_new(o, "started",
	    json_integer(
	        up ? (json_int_t)(d->dpst.started_unix_ns / 1000000000ull)
	           : 0));
	json_object_set_new(o, "activated",
	    json_integer(
	        up ? (json_int_t)(d->dpst.activated_unix_ns / 1000000000ull)
	           : 0));
	json_object_set_new(o, "error", json_string(d->dp_error));
	return o;
}

static json_t *
cd_status_geo(struct cd *d)
{
	int64_t epoch = cd_geo_epoch(&d->run.geo);
	int64_t age = epoch && clk_unix_s() > epoch ? clk_unix_s() - epoch : 0;
	int64_t max = (int64_t)d->ctl.geo_max_age * 86400;

	return json_pack("{s:I, s:I, s:I, s:b, s:i}", "build_epoch",
	    (json_int_t)epoch, "age_s", (json_int_t)age, "max_age_s",
	    (json_int_t)max, "stale", max > 0 && age > max, "layers",
	    (int)d->run.geo.nlayers);
}

static json_t *
cd_status_confirm(struct cd *d)
{
	if (d->confirm_deadline == 0)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I}", "revision",
	    (json_int_t)d->confirm_rev, "previous", (json_int_t)d->confirm_prev,
	    "deadline", (json_int_t)cd_boot_to_unix(d->confirm_deadline),
	    "remaining_s", (json_int_t)(d->confirm_deadline - clk_boot_s()));
}

int
cd_cmd_status(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	json_t *o = cd_obj(), *geo = cd_status_geo(d);
	uint64_t base = 0;
	char *text = NULL;
	size_t len;
	bool cand = store_cand_exists(d->store, rq->uid) == 1;

	(void)e;
	if (cand && store_cand_load(d->store, rq->uid, &text, &len, &base) < 0)
		base = 0;
	free(text);
	json_object_set_new(o, "version", json_string(CD_VERSION));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "started", json_integer(d->started));
	json_object_set_new(o, "uptime_s",
	    json_integer(clk_boot_s() - d->started_boot));
	json_object_set_new(o, "config", json_string(d->conf_path));
	json_object_set_new(o, "state_dir", json_string(d->ctl.state_dir));
	json_object_set_new(o, "config_file", cd_conffile_status(d));
	json_object_set_new(o, "running_revision",
	    json_integer((json_int_t)d->run.rev));
	json_object_set_new(o, "policy_hash", cd_hash_json(d->run.pol_hash));
	json_object_set_new(o, "candidate", json_boolean(cand));
	json_object_set_new(o, "candidate_base",
	    json_integer((json_int_t)base));
	json_object_set_new(o, "dataplane", cd_status_dp(d));
	json_object_set_new(o, "processes", cd_proc_status(d));
	json_object_set_new(o, "snmp", cd_snmp_status(d));
	cd_alarm_tick_now(d);
	json_object_set_new(o, "alarms", cd_alarm_list(d));
	json_object_set_new(o, "alarm_names", cd_alarm_names());
	json_object_set_new(o, "geo", geo);
	json_object_set_new(o, "confirm", cd_status_confirm(d));
	*data = o;
	return 0;
}

/*
 * Hits per rule identity (cd_rulectr.h): "hits" follows the rule across
 * commits, "hits_since_activation" is what its position counted under
 * the running revision.
 */
static json_t *
cd_counters_rules(struct cd *d, const struct stats *s)
{
	const struct cd_rulectr *rc = d->rc;
	json_t *a = json_array();

	for (unsigned i = 0; i < rc->n; i++)
		json_array_append_new(a,
		    json_pack("{s:i, s:i, s:s, s:I, s:I}", "position",
		        (int)cd_rulectr_pos(rc, i), "id", (int)rc->e[i].id,
		        "rule", rc->e[i].name, "hits",
		        (json_int_t)cd_rulectr_hits(rc, i, s),
		        "hits_since_activation",
		        (json_int_t)cd_rulectr_delta(rc, i, s)));
	return a;
}

static json_t *
cd_counters_countries(const struct stats *s)
{
	json_t *a = json_array();
	char cc[GEO_CC_STRLEN];

	for (unsigned c = 0; c < GEO_CC_MAX; c++)
		if (s->cc_packets[c])
			json_array_append_new(a,
			    json_pack("{s:s, s:I, s:I}", "country",
			        geo_cc_name((geo_cc_t)c, cc), "packets",
			        (json_int_t)s->cc_packets[c], "denied",
			        (json_int_t)s->cc_denied[c]));
	return a;
}

static json_t *
cd_counters_ports(struct cd *d, const struct stats *s)
{
	unsigned n = d->dpst.nports ? d->dpst.nports : d->run.conf->nports;
	json_t *a = json_array();

	for (unsigned p = 0; p < n && p < STATS_PORT_MAX; p++) {
		json_t *o = json_object();
		char name[DPC_NAME_MAX + 1];

		snprintf(name, sizeof(name), "%.*s", DPC_NAME_MAX,
		    d->dpst.nports ? d->dpst.port[p]
		                   : d->run.conf->ports[p].name);
		json_object_set_new(o, "port", json_string(name));
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)s->port[p].f));
		STATS_PORT_FIELDS(X)
#undef X
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
cd_counters_map(const uint64_t *v, unsigned first, unsigned n,
    const char *(*name)(unsigned))
{
	json_t *o = json_object();

	for (unsigned i = first; i < n; i++)
		json_object_set_new(o, name(i), json_integer((json_int_t)v[i]));
	return o;
}

/*
 * A counter group of struct stats as an object keyed by its fields:
 * the fragment table's and the proxied flows' (their refusals are
 * reasons), the evidence captures'.
 */
#define CD_COUNTERS_GROUP(fn, member, FIELDS)                                  \
	static json_t *fn(const struct stats *s)                               \
	{                                                                      \
		json_t *o = json_object();                                     \
		FIELDS(CD_COUNTERS_SET_##member)                               \
		return o;                                                      \
	}
#define CD_COUNTERS_SET_frag(f)                                                \
	json_object_set_new(o, #f, json_integer((json_int_t)s->frag.f));
#define CD_COUNTERS_SET_prx(f)                                                 \
	json_object_set_new(o, #f, json_integer((json_int_t)s->prx.f));
#define CD_COUNTERS_SET_evid(f)                                                \
	json_object_set_new(o, #f, json_integer((json_int_t)s->evid.f));
CD_COUNTERS_GROUP(cd_counters_frag, frag, STATS_FRAG_FIELDS)
CD_COUNTERS_GROUP(cd_counters_prx, prx, STATS_PRX_FIELDS)
CD_COUNTERS_GROUP(cd_counters_evid, evid, STATS_EVID_FIELDS)
#define CD_COUNTERS_SET_slog(f)                                                \
	json_object_set_new(o, #f, json_integer((json_int_t)s->slog.f));
CD_COUNTERS_GROUP(cd_counters_slog, slog, STATS_SLOG_FIELDS)

/* Tunnel layers seen in a packet, as the counters' keys. */
static const char *
cd_layers_name(unsigned n)
{
	static const char *const names[] = { "0", "1", "2", "3", "4", "5", "6",
		"7", "8" };

	_Static_assert(sizeof(names) / sizeof(names[0]) == PKT_LAYER_MAX + 1,
	    "a name per layer count");
	return n <= PKT_LAYER_MAX ? names[n] : "?";
}

static const char *
cd_knock_reason(unsigned r)
{
	return knock_reason_name((int)r);
}

int
cd_cmd_counters(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct stats *s = d->sum;
	json_t *o;

	(void)rq;
	if (d->dp_state != CD_DP_UP)
		return cd_fail(e, "dataplane", "cordon-dp is %s",
		    cd_dp_state_name(d->dp_state));
	memset(s, 0, sizeof(*s));
	(void)d->be->counters(d, s);
	o = cd_obj();
	json_object_set_new(o, "revision",
	    json_integer((json_int_t)d->run.rev));
	json_object_set_new(o, "time", json_integer(clk_unix_s()));
	json_object_set_new(o, "packets", json_integer((json_int_t)s->packets));
	json_object_set_new(o, "actions",
	    cd_counters_map(s->action, 0, CDN_ACT_MAX, cdn_action_name));
	json_object_set_new(o, "reasons",
	    cd_counters_map(s->reason, 1, CDN_R_MAX, cdn_reason_name));
	json_object_set_new(o, "rules", cd_counters_rules(d, s));
	json_object_set_new(o, "countries", cd_counters_countries(s));
	json_object_set_new(o, "ports", cd_counters_ports(d, s));
	json_object_set_new(o, "tunnels",
	    cd_counters_map(s->tun, 1, PKT_TUN_MAX, pkt_tun_name));
	json_object_set_new(o, "tunnel_layers",
	    cd_counters_map(s->tun_layers, 1, PKT_LAYER_MAX + 1,
	        cd_layers_name));
	json_object_set_new(o, "tunnel_opaque",
	    json_integer((json_int_t)s->tun_opaque));
	json_object_set_new(o, "log_dropped",
	    json_integer((json_int_t)s->log_dropped));
	json_object_set_new(o, "log_suppressed",
	    json_integer((json_int_t)s->log_suppressed));
	json_object_set_new(o, "knock_dropped",
	    json_integer((json_int_t)s->knock_dropped));
	json_object_set_new(o, "knock_unsent",
	    json_integer((json_int_t)s->knock_unsent));
	json_object_set_new(o, "fragments", cd_counters_frag(s));
	json_object_set_new(o, "proxied", cd_counters_prx(s));
	json_object_set_new(o, "evidence", cd_counters_evid(s));
	json_object_set_new(o, "syslog_fallback", cd_counters_slog(s));
	/* cordond's verdicts on the knocks it was handed, by reason. */
	if (d->sess != NULL && d->sess->knock != NULL)
		json_object_set_new(o, "knocks",
		    cd_counters_map(d->sess->knock->counters, 0, KNOCK_R_MAX,
		        cd_knock_reason));
	*data = o;
	return 0;
}

int
cd_cmd_audit_verify(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	uint64_t checked = 0, bad = 0;
	json_t *warn = json_array();
	char err[512] = "";
	int rc;

	(void)rq;
	(void)e;
	rc = audit_verify_warn(d->audit_path, &checked, &bad, warn, err,
	    sizeof(err));
	*data = cd_obj();
	json_object_set_new(*data, "intact", json_boolean(rc == 0));
	json_object_set_new(*data, "checked",
	    json_integer((json_int_t)checked));
	json_object_set_new(*data, "first_bad",
	    rc == 0 ? json_null() : json_integer((json_int_t)bad));
	json_object_set_new(*data, "message",
	    json_string(rc == 0 ? "audit log intact" : err));
	/* Clock steps seen between records: told, not a broken chain. */
	json_object_set_new(*data, "warnings", warn);
	return 0;
}
