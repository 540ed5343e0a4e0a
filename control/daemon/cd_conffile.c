/*
 * The config file against the state folder (docs/config.md "The file
 * and the revisions", cordond(8)): after the first start the running
 * revision is what runs, its control group included.  The file names
 * the state folder (control.state_dir) and is imported as revision 1 the
 * first time; afterwards it is only compared with the running revision,
 * and a difference is reported (log, syslog, status) with the way to
 * adopt it: cordonctl load override FILE, compare, commit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "control/daemon/cordond.h"
#include "config/rev/rev.h"

/* The running revision's control group, for cordond's own settings. */
static int
cd_conffile_rev_ctl(const char *path, struct conf_control *ctl, char *err,
    size_t errlen)
{
	struct conf *c = calloc(1, sizeof(*c));
	int rc = -1;

	if (c == NULL)
		snprintf(err, errlen, "out of memory");
	else if (conf_load(path, c, err, errlen) == 0) {
		*ctl = c->control;
		rc = 0;
	}
	free(c);
	return rc;
}

/*
 * A FILE libconfig cannot parse (a syntax error anywhere): its last line
 * that reads state_dir = "DIR" (the control group's only key by that
 * name) names the state folder.
 */
static void
cd_conffile_scan_state_dir(const char *path, struct conf_control *ctl)
{
	char line[CONF_PATH_MAX + 64], dir[CONF_PATH_MAX];
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " state_dir = \"%255[^\"]\"", dir) == 1 &&
		    strlen(dir) < sizeof(ctl->state_dir))
			snprintf(ctl->state_dir, sizeof(ctl->state_dir), "%s",
			    dir);
	fclose(f);
}

/*
 * The state folder a FILE that does not load names: its
 * control.state_dir as far as libconfig can read it, else the default.
 */
static void
cd_conffile_state_dir(const char *path, struct conf_control *ctl)
{
	const char *dir;
	config_t cf;

	conf_control_defaults(ctl);
	config_init(&cf);
	if (config_read_file(&cf, path) == CONFIG_TRUE) {
		if (config_lookup_string(&cf, "control.state_dir", &dir) ==
		        CONFIG_TRUE &&
		    strlen(dir) < sizeof(ctl->state_dir))
			snprintf(ctl->state_dir, sizeof(ctl->state_dir), "%s",
			    dir);
	} else
		cd_conffile_scan_state_dir(path, ctl);
	config_destroy(&cf);
}

/*
 * The control group start-up begins with: FILE's.  A FILE that does not
 * load (a broken edit) does not stop an appliance whose state folder
 * holds a running revision: that revision runs (it is the truth after
 * the first start) and *BROKEN says so, ERR why.  -1 only before the
 * first start, when FILE is all there is.
 */
int
cd_conffile_start_ctl(const char *path, struct conf_control *ctl, bool *broken,
    char *err, size_t errlen)
{
	char rpath[CONF_PATH_MAX + 32];
	uint64_t rev;

	*broken = false;
	if (cd_conffile_rev_ctl(path, ctl, err, errlen) == 0)
		return 0;
	*broken = true;
	cd_conffile_state_dir(path, ctl);
	if (store_peek(ctl->state_dir, &rev, rpath, sizeof(rpath)) < 0 ||
	    rev == 0)
		return -1;
	return 0;
}

/*
 * Start-up, before anything is opened: D->ctl (FILE's control group)
 * becomes the running revision's, except state_dir, which says where
 * the revisions are and so can only come from FILE.  No revision yet
 * (first start): FILE's, which becomes revision 1.
 */
int
cd_conffile_ctl(struct cd *d)
{
	struct conf_control ctl;
	char path[CONF_PATH_MAX + 32], err[1024];
	uint64_t rev;

	if (store_peek(d->ctl.state_dir, &rev, path, sizeof(path)) < 0) {
		cd_log("state folder %s: %s", d->ctl.state_dir,
		    strerror(errno));
		return -1;
	}
	if (rev == 0)
		return 0;
	if (cd_conffile_rev_ctl(path, &ctl, err, sizeof(err)) < 0) {
		cd_log("revision %lu: %s", (unsigned long)rev, err);
		return -1;
	}
	if (strcmp(ctl.state_dir, d->ctl.state_dir) != 0)
		cd_log("revision %lu names control.state_dir %s: not used, "
		       "the state folder is %s's (%s)",
		    (unsigned long)rev, ctl.state_dir, d->conf_path,
		    d->ctl.state_dir);
	memcpy(ctl.state_dir, d->ctl.state_dir, sizeof(ctl.state_dir));
	d->ctl = ctl;
	cd_debug("control group of revision %lu in force", (unsigned long)rev);
	return 0;
}

/* The file flattened against TEXT: 0 same, 1 differs, -1 with ERR. */
int
cd_conffile_differs(const char *conf_path, const char *text, char *err,
    size_t errlen)
{
	char *flat;
	size_t len;
	int rc;

	if (store_flatten(conf_path, &flat, &len, err, errlen) < 0)
		return -1;
	rc = strcmp(flat, text) != 0;
	free(flat);
	return rc;
}

/* status "config_file": the file against the running revision, now. */
json_t *
cd_conffile_status(struct cd *d)
{
	char err[1024] = "", adopt[2 * CONF_PATH_MAX + 128];
	struct conf_control ctl;
	int rc =
	    cd_conffile_differs(d->conf_path, d->run.text, err, sizeof(err));
	json_t *o = json_object();

	snprintf(adopt, sizeof(adopt),
	    "cordonctl load override %s, compare, commit (or keep the "
	    "revision: cordonctl show config > %s)",
	    d->conf_path, d->conf_path);
	json_object_set_new(o, "path", json_string(d->conf_path));
	json_object_set_new(o, "revision",
	    json_integer((json_int_t)d->run.rev));
	/* A file that differs may also not load: say why (its next edit). */
	if (rc > 0 &&
	    cd_conffile_rev_ctl(d->conf_path, &ctl, err, sizeof(err)) == 0)
		err[0] = '\0';
	json_object_set_new(o, "differs", json_boolean(rc != 0));
	json_object_set_new(o, "error", json_string(err));
	json_object_set_new(o, "adopt", json_string(rc != 0 ? adopt : ""));
	return o;
}

/* Start-up: a file that is not what runs is said once, log and syslog. */
void
cd_conffile_warn(struct cd *d)
{
	char err[1024] = "", msg[1400];
	int rc =
	    cd_conffile_differs(d->conf_path, d->run.text, err, sizeof(err));

	if (rc == 0)
		return;
	if (rc < 0)
		snprintf(msg, sizeof(msg),
		    "%s cannot be read (%s): revision %lu runs", d->conf_path,
		    err, (unsigned long)d->run.rev);
	else
		snprintf(msg, sizeof(msg),
		    "%s differs from the running revision %lu, which is what "
		    "runs; to adopt the file: cordonctl load override %s, "
		    "compare, commit",
		    d->conf_path, (unsigned long)d->run.rev, d->conf_path);
	cd_log("warning: %s", msg);
	cd_syslog_event(d, "config-differs", msg, "file", d->conf_path,
	    "revision", CD_SL_U(d->run.rev), NULL);
}

/* -n: what cordon-dp would refuse, refused here first. */
int
cd_check(const char *path)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct geo_db db = { 0 };
	struct rev r = { .conf = c, .pol = p, .geo = &db };
	char err[1024];
	int rc = 2;

	if (c == NULL || p == NULL)
		goto out;
	if (rev_compile(path, NULL, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "cordond: %s\n", err);
		goto out;
	}
	cd_geo_note(&db);
	conf_print(c, stdout);
	conf_control_print(&c->control, stdout);
	geo_db_print(&db, stdout);
	printf("configuration OK\n");
	rc = 0;
out:
	geo_db_free(&db);
	free(p);
	free(c);
	return rc;
}

/*
 * cordond --check-start (the unit's ExecStartPre): FILE must load, as
 * start-up needs it; then the running revision of its state folder is
 * checked as -n checks a file, or FILE itself when there is none yet
 * (the first start imports it).  A FILE that differs from the running
 * revision is said, not refused: it is not what runs.
 */
int
cd_conffile_check_start(const char *conf_path)
{
	struct conf_control ctl;
	char path[CONF_PATH_MAX + 32], err[1024], *text;
	uint64_t rev;
	size_t len;
	bool broken;

	if (cd_conffile_start_ctl(conf_path, &ctl, &broken, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "cordond: %s\n", err);
		return 2;
	}
	if (broken)
		fprintf(stderr,
		    "cordond: warning: %s (the running revision of %s "
		    "runs)\n",
		    err, ctl.state_dir);
	if (store_peek(ctl.state_dir, &rev, path, sizeof(path)) < 0) {
		fprintf(stderr, "cordond: state folder %s: %s\n", ctl.state_dir,
		    strerror(errno));
		return 2;
	}
	if (rev == 0) {
		printf("no revision in %s yet: checking %s (the first start "
		       "imports it)\n",
		    ctl.state_dir, conf_path);
		return cd_check(conf_path);
	}
	printf("checking revision %lu (%s): what a start runs\n",
	    (unsigned long)rev, path);
	if (store_file_read(path, &text, &len) == 0) {
		if (cd_conffile_differs(conf_path, text, err, sizeof(err)) == 1)
			fprintf(stderr,
			    "cordond: warning: %s differs from revision %lu "
			    "and does not run; to adopt it: cordonctl load "
			    "override %s, compare, commit\n",
			    conf_path, (unsigned long)rev, conf_path);
		free(text);
	}
	return cd_check(path);
}
