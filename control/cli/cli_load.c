/*
 * Config files for load override|merge, read here and sent as text:
 * cordond may not be able to read an admin's files, and here a bad file
 * is reported with its own name and lines.  The file is flattened as
 * cordond flattens the one it imports (store_flatten: @include expanded,
 * relative database paths made absolute), so the text means the same
 * in the state folder.  And show config's text output, which is such a
 * file.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/load/conf.h"
#include "control/cli/cli.h"
#include "control/store/store.h"

/* A whole config: loads as cordond would load it (file:line errors). */
static int
cli_conf_check(const char *path, char *err, size_t errlen)
{
	struct conf *c = calloc(1, sizeof(*c));
	int rc = -1;

	if (c == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		rc = conf_load(path, c, err, errlen);
	free(c);
	return rc;
}

/* "invalid: " and why, as cordond words a refused candidate (exit 5). */
json_t *
cli_conf_read(const char *path, int whole, char *err, size_t errlen)
{
	char why[900];
	json_t *v = NULL;
	char *text = NULL;
	size_t len;

	if (whole && cli_conf_check(path, why, sizeof(why)) < 0)
		;
	else if (store_flatten(path, &text, &len, why, sizeof(why)) < 0)
		;
	else if (len > CLI_LOAD_MAX)
		snprintf(why, sizeof(why),
		    "%s: %zu bytes flattened, at most %u", path, len,
		    CLI_LOAD_MAX);
	else if ((v = json_stringn(text, len)) == NULL)
		snprintf(why, sizeof(why), "%s: not valid UTF-8", path);
	if (v == NULL)
		snprintf(err, errlen, "%s%s", CLI_INVALID_PREFIX, why);
	free(text);
	return v;
}

/* The name audit records and replies give the file: absolute if it can. */
json_t *
cli_conf_name(const char *path)
{
	char real[PATH_MAX];

	return json_string(realpath(path, real) ? real : path);
}

/*
 * show config: the text alone, under a comment line, so that
 * "cordonctl show config > f" is a file cordond -n and load accept.
 */
void
cli_render_config(FILE *f, json_t *data, const struct cli_cmd *cmd)
{
	const char *text = json_string_value(json_object_get(data, "text"));
	json_int_t rev = json_integer_value(json_object_get(data, "revision"));
	int running = json_is_true(json_object_get(data, "running"));

	(void)cmd;
	fprintf(f, "# Cordon configuration: revision %lld%s\n", (long long)rev,
	    running ? " (running)" : "");
	fputs(text ? text : "", f);
	if (text && *text && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
}
