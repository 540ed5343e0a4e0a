/*
 * Token files for session add and explain: the token travels in the
 * request as text, never on the command line (where ps would show it).
 * Only the size and emptiness are checked here; whether the token is a
 * well-formed, validly signed JWS is the daemon's decision.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"

/* Reads at most MAX + 1 bytes of F into BUF: one more than allowed is
 * how an oversized file shows.  Returns the count, or -1 (errno). */
static long
cli_file_slurp(FILE *f, char *buf, size_t max)
{
	size_t n = 0, got;

	while (n <= max) {
		got = fread(buf + n, 1, max + 1 - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		return -1;
	return (long)n;
}

/* The text of BUF[0..N) without surrounding whitespace, as JSON. */
static json_t *
cli_file_trimmed(const char *buf, size_t n, size_t *len)
{
	size_t a = 0;

	while (a < n && isspace((unsigned char)buf[a]))
		a++;
	while (n > a && isspace((unsigned char)buf[n - 1]))
		n--;
	*len = n - a;
	return *len ? json_stringn(buf + a, n - a) : NULL;
}

json_t *
cli_file_read(const char *kw, const char *path, char *err, size_t errlen)
{
	int is_stdin = strcmp(path, "-") == 0;
	char *buf = malloc(CLI_FILE_MAX + 1);
	json_t *v = NULL;
	FILE *f = NULL;
	size_t len = 0;
	long n = -1;

	if (buf && (f = is_stdin ? stdin : fopen(path, "rb")))
		n = cli_file_slurp(f, buf, CLI_FILE_MAX);
	if (n < 0)
		snprintf(err, errlen, "%s: cannot read \"%s\": %s", kw, path,
		    strerror(errno));
	else if ((size_t)n > CLI_FILE_MAX)
		snprintf(err, errlen, "%s: \"%s\" is larger than %u bytes", kw,
		    path, CLI_FILE_MAX);
	else if (!(v = cli_file_trimmed(buf, (size_t)n, &len)))
		snprintf(err, errlen, "%s: \"%s\" %s", kw, path,
		    len ? "is not valid UTF-8" : "is empty");
	if (f && !is_stdin)
		fclose(f);
	if (buf) {
		explicit_bzero(buf, CLI_FILE_MAX + 1); /* a credential */
		free(buf);
	}
	return v;
}
