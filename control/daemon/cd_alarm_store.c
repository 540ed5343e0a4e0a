/*
 * The alarm table in the state folder (CD_ALARM_FILE), written whole
 * and atomically (store_file_write) at each raise, clear and
 * acknowledgement.  What it holds at start-up is the table cordond had
 * when it stopped: a condition still holding is not raised again, one
 * gone is cleared (with its notifications) at the first tick.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_alarm.h"
#include "control/daemon/cordond.h"

static void
cd_alarm_path(const struct cd *d, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", d->ctl.state_dir, CD_ALARM_FILE);
}

static json_t *
cd_alarm_row_json(const struct cd_alarm_row *r, enum cd_alarm_id id)
{
	return json_pack("{s:s, s:I, s:s, s:i, s:I, s:i, s:s}", "name",
	    cd_alarm_name(id), "raised", (json_int_t)r->raised, "detail",
	    r->detail, "count", (int)r->count, "acked_at",
	    (json_int_t)r->acked_at, "acked_uid", (int)r->acked_uid, "acked_by",
	    r->acked_by);
}

int
cd_alarm_save(struct cd *d)
{
	char path[CONF_PATH_MAX + 32], *text;
	json_t *o = json_pack("{s:i, s:[]}", "schema", 1, "alarms");
	json_t *a = json_object_get(o, "alarms");
	int rc;

	for (int i = 0; i < CD_AL_MAX; i++)
		if (d->alarms[i].active)
			json_array_append_new(a,
			    cd_alarm_row_json(&d->alarms[i], i));
	text = json_dumps(o, JSON_INDENT(1));
	json_decref(o);
	if (text == NULL) {
		cd_log("alarms: out of memory");
		return -1;
	}
	cd_alarm_path(d, path, sizeof(path));
	rc = store_file_write(path, text, strlen(text));
	if (rc < 0)
		cd_log("alarms: %s: %s", path, strerror(errno));
	free(text);
	return rc;
}

static void
cd_alarm_row_load(struct cd *d, json_t *e)
{
	int id =
	    cd_alarm_find(json_string_value(json_object_get(e, "name")) ?: "");
	const char *detail = json_string_value(json_object_get(e, "detail"));
	const char *by = json_string_value(json_object_get(e, "acked_by"));
	struct cd_alarm_row *r;

	if (id < 0)
		return;
	r = &d->alarms[id];
	r->active = true;
	r->raised = json_integer_value(json_object_get(e, "raised"));
	r->count = (unsigned)json_integer_value(json_object_get(e, "count"));
	r->acked_at = json_integer_value(json_object_get(e, "acked_at"));
	r->acked_uid =
	    (uid_t)json_integer_value(json_object_get(e, "acked_uid"));
	snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
	snprintf(r->acked_by, sizeof(r->acked_by), "%s", by ? by : "");
	cd_log("alarm %s kept from before the restart (raised at %lld)",
	    cd_alarm_name(id), (long long)r->raised);
}

void
cd_alarm_load(struct cd *d, const struct cd_alarm_ops *ops)
{
	char path[CONF_PATH_MAX + 32];
	json_error_t err;
	json_t *o, *e;
	size_t i;

	memset(d->alarms, 0, sizeof(d->alarms));
	d->alarm_ops = ops;
	cd_alarm_path(d, path, sizeof(path));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL) {
		if (errno != ENOENT && access(path, F_OK) == 0)
			cd_log("alarms: %s: %s: starting with none", path,
			    err.text);
		return;
	}
	json_array_foreach(json_object_get(o, "alarms"), i, e)
		cd_alarm_row_load(d, e);
	json_decref(o);
}
