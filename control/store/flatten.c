/*
 * Importing an admin-written config as a revision: one self-contained
 * text that means the same wherever it is stored.  libconfig expands
 * @include while reading, so what is left is to anchor the relative
 * database paths to the original file's folder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"
#include "core/util/sysuser.h"

/* Removes "." and ".." components of absolute PATH in place. */
static void
flat_normalize(char *path)
{
	char *out = path, *p = path;

	while (*p != '\0') {
		char *end;
		size_t n;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, p, n);
			out += n;
		}
		p = end;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* ABSDIR/FILE, canonical when it exists. */
static int
flat_abs(const char *absdir, const char *file, char *out, size_t len)
{
	char joined[PATH_MAX * 2];
	char real[PATH_MAX];

	snprintf(joined, sizeof(joined), "%s/%s", absdir, file);
	if (realpath(joined, real) != NULL)
		snprintf(joined, sizeof(joined), "%s", real);
	else
		flat_normalize(joined);
	if (strlen(joined) >= len)
		return -1;
	memcpy(out, joined, strlen(joined) + 1);
	return 0;
}

/*
 * Every relative file path in list LIST's members KEYS becomes absolute:
 * the revision is read from the state folder, not from DIR.
 */
static int
flat_list_paths(config_t *cfg, const char *list, const char *const *keys,
    const char *conf_path, const char *dir, char *err, size_t errlen)
{
	config_setting_t *dbs = config_lookup(cfg, list);
	char absdir[PATH_MAX], path[PATH_MAX];

	if (dbs == NULL || !config_setting_is_aggregate(dbs))
		return 0;
	if (realpath(dir, absdir) == NULL) {
		snprintf(err, errlen, "%s:0: %s: %s", conf_path, dir,
		    strerror(errno));
		return -1;
	}
	for (int i = 0; i < config_setting_length(dbs); i++) {
		config_setting_t *db =
		    config_setting_get_elem(dbs, (unsigned)i);

		for (const char *const *k = keys; *k; k++) {
			config_setting_t *f = config_setting_get_member(db, *k);
			const char *v = f ? config_setting_get_string(f) : NULL;

			if (v == NULL || v[0] == '/')
				continue; /* type errors: the loader's */
			if (flat_abs(absdir, v, path, sizeof(path)) < 0 ||
			    !config_setting_set_string(f, path)) {
				snprintf(err, errlen, "%s:%d: path too long",
				    conf_path,
				    (int)config_setting_source_line(f));
				errno = ENAMETOOLONG;
				return -1;
			}
		}
	}
	return 0;
}

static int
flat_geo_paths(config_t *cfg, const char *conf_path, const char *dir, char *err,
    size_t errlen)
{
	static const char *const geo[] = { "file", NULL };
	static const char *const iss[] = { "jwks", "ca", NULL };

	if (flat_list_paths(cfg, "geo.databases", geo, conf_path, dir, err,
	        errlen) < 0)
		return -1;
	return flat_list_paths(cfg, "identity.issuers", iss, conf_path, dir,
	    err, errlen);
}

/* "file:line: message", naming included files as conf_load does. */
static void
flat_syntax_err(const config_t *cfg, const char *conf_path, const char *dir,
    char *err, size_t errlen)
{
	const char *file = config_error_file(cfg);

	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		snprintf(err, errlen, "%s:0: cannot read: %s", conf_path,
		    strerror(errno));
	else if (file == NULL || strcmp(file, conf_path) == 0 ||
	         file[0] == '/' || strcmp(dir, ".") == 0)
		snprintf(err, errlen, "%s:%d: %s", file ? file : conf_path,
		    config_error_line(cfg), config_error_text(cfg));
	else
		snprintf(err, errlen, "%s/%s:%d: %s", dir, file,
		    config_error_line(cfg), config_error_text(cfg));
}

int
store_flatten(const char *conf_path, char **text, size_t *len, char *err,
    size_t errlen)
{
	char dir[PATH_MAX];
	config_t cfg;
	int rc = -1;

	if (sysuser_dir_name(conf_path, dir, sizeof(dir)) < 0) {
		snprintf(err, errlen, "%s: %s", conf_path, strerror(errno));
		return -1;
	}
	config_init(&cfg);
	config_set_include_dir(&cfg, dir);
	if (!config_read_file(&cfg, conf_path)) {
		flat_syntax_err(&cfg, conf_path, dir, err, errlen);
		errno = EINVAL;
		goto out;
	}
	if (flat_geo_paths(&cfg, conf_path, dir, err, errlen) < 0)
		goto out;
	if (store_config_text(&cfg, text, len) < 0) {
		snprintf(err, errlen, "%s:0: %s", conf_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	config_destroy(&cfg);
	return rc;
}
