/*
 * The alarm commands (docs/control.md, "Alarms"): alarm-list (show
 * alarms), alarm-ack and alarm-clear, both audited as every other
 * change.  The table is brought up to date first: what they see is
 * what holds now.
 */
#include <pwd.h>
#include <string.h>

#include "control/daemon/cd_alarm.h"
#include "control/daemon/cordond.h"

int
cd_cmd_alarm_list(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	(void)rq;
	(void)e;
	cd_alarm_tick_now(d);
	*data = cd_obj();
	json_object_set_new(*data, "alarms", cd_alarm_list(d));
	return 0;
}

/* The alarm NAME names, raised; -1 with E when it is none. */
static int
cd_alarm_arg(struct cd *d, const struct cd_req *rq, struct cd_err *e)
{
	const char *name = json_string_value(json_object_get(rq->args, "name"));
	int id;

	if (name == NULL)
		return cd_fail(e, "bad-request", "\"name\" must be a string");
	if ((id = cd_alarm_find(name)) < 0)
		return cd_fail(e, "no-such-alarm",
		    "no alarm is named \"%s\" (show alarms)", name);
	if (!d->alarms[id].active)
		return cd_fail(e, "no-such-alarm", "alarm %s is not raised",
		    name);
	return id;
}

static void
cd_alarm_who(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, len, "%s", res->pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
}

/*
 * Stores the table as changed from BEFORE, then audits CMD: 0, or -1
 * with E and the table as BEFORE (in memory and, if it can, on disk).
 * An acknowledgement or clear answered ok survives a restart.
 */
static int
cd_alarm_keep(struct cd *d, const struct cd_req *rq,
    const struct cd_alarm_row *before, const char *cmd, const char *names,
    struct cd_err *e)
{
	if (cd_alarm_save(d) < 0) {
		memcpy(d->alarms, before, sizeof(d->alarms));
		cd_fail(e, "internal",
		    "the alarm table could not be stored in %s (see the "
		    "log): nothing was changed",
		    d->ctl.state_dir);
		(void)cd_audit(d, rq, cmd, "refused: internal", names,
		    d->run.rev);
		return -1;
	}
	if (cd_audit(d, rq, cmd, "ok", names, d->run.rev) < 0) {
		memcpy(d->alarms, before, sizeof(d->alarms));
		(void)cd_alarm_save(d);
		return cd_fail(e, "internal",
		    "the audit log cannot take the record: nothing was "
		    "changed");
	}
	return 0;
}

int
cd_cmd_alarm_ack(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *name = json_string_value(json_object_get(rq->args, "name"));
	bool all = name != NULL && strcmp(name, "all") == 0;
	struct cd_alarm_row before[CD_AL_MAX];
	char who[64], names[CD_AL_MAX * 32] = "";
	json_t *done;
	int id = -1;

	cd_alarm_tick_now(d);
	if (!all && (id = cd_alarm_arg(d, rq, e)) < 0)
		return -1;
	memcpy(before, d->alarms, sizeof(before));
	cd_alarm_who(rq->uid, who, sizeof(who));
	done = json_array();
	for (int i = 0; i < CD_AL_MAX; i++) {
		struct cd_alarm_row *r = &d->alarms[i];

		if (!r->active || !(all || i == id))
			continue;
		cd_word(names, sizeof(names), cd_alarm_name(i));
		r->acked_at = clk_unix_s();
		r->acked_uid = rq->uid;
		snprintf(r->acked_by, sizeof(r->acked_by), "%s", who);
		json_array_append_new(done, json_string(cd_alarm_name(i)));
	}
	if (names[0] != '\0' &&
	    cd_alarm_keep(d, rq, before, "alarm-ack", names, e) < 0) {
		json_decref(done);
		return -1;
	}
	*data = cd_obj();
	json_object_set_new(*data, "acknowledged", done);
	return 0;
}

int
cd_cmd_alarm_clear(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct cd_alarm_row before[CD_AL_MAX];
	char by[80];
	int id;

	cd_alarm_tick_now(d);
	if ((id = cd_alarm_arg(d, rq, e)) < 0)
		return -1;
	if (!cd_alarm_is_event(id))
		return cd_fail(e, "alarm-condition",
		    "%s is a condition alarm and its condition still holds "
		    "(%s): it clears by itself when the condition ends",
		    cd_alarm_name(id), d->alarms[id].detail);
	memcpy(before, d->alarms, sizeof(before));
	/* Stored cleared first; cd_alarm_clear then notifies. */
	d->alarms[id].active = false;
	if (cd_alarm_keep(d, rq, before, "alarm-clear", cd_alarm_name(id), e) <
	    0)
		return -1;
	d->alarms[id].active = true;
	cd_alarm_who(rq->uid, by, sizeof(by));
	cd_alarm_clear(d, id, by);
	*data = cd_obj();
	json_object_set_new(*data, "cleared", json_string(cd_alarm_name(id)));
	return 0;
}
