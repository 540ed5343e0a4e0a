/*
 * Turns a finished walk into the request of docs/control.md section 3:
 * {"v":1,"cmd":...,"args":{...}}, values typed as JSON.  Members come in
 * table order, not word order, so one command always gives one request.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"

static json_t *
cli_fail(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
	return NULL;
}

static json_t *
cli_conv_int(const char *w, const struct cli_param *pp, char *err, size_t len)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(w, &end, 10);
	if (errno || end == w || *end)
		return cli_fail(err, len, "%s: \"%s\" is not an integer",
		    pp->kw ? pp->kw : pp->meta, w);
	return json_integer(v);
}

static json_t *
cli_conv_enum(const char *w, const struct cli_param *pp, const char *const *ch,
    char *err, size_t len)
{
	int i = cli_match(w, ch);

	if (i >= 0)
		return json_string(ch[i]);
	snprintf(err, len, "%s: %s \"%s\" (valid: %s",
	    pp->kw ? pp->kw : pp->meta, i == -2 ? "ambiguous" : "unknown", w,
	    ch[0]);
	for (i = 1; ch[i]; i++)
		snprintf(err + strlen(err), len - strlen(err), ", %s", ch[i]);
	snprintf(err + strlen(err), len - strlen(err), ")");
	return NULL;
}

/* "a,b,c" -> ["a","b","c"]; each item through ENUM choices when given. */
static json_t *
cli_conv_list(const char *w, const struct cli_param *pp, const char *const *ch,
    char *err, size_t len)
{
	json_t *arr = json_array(), *item;
	const char *s = w, *comma;
	char buf[256];
	size_t n;

	do {
		comma = strchr(s, ',');
		n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == 0 || n >= sizeof(buf)) {
			json_decref(arr);
			return cli_fail(err, len, "%s: bad list \"%s\"",
			    pp->kw ? pp->kw : pp->meta, w);
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		item = ch ? cli_conv_enum(buf, pp, ch, err, len)
		          : json_string(buf);
		if (!item && !err[0])
			cli_fail(err, len, "%s: \"%s\" is not valid UTF-8",
			    pp->kw ? pp->kw : pp->meta, w);
		if (!item || json_array_append_new(arr, item)) {
			json_decref(arr);
			return NULL;
		}
		s = comma + 1;
	} while (comma);
	return arr;
}

static json_t *
cli_conv(const char *w, const struct cli_param *pp, char *err, size_t len)
{
	static const char *const yesno[] = { "yes", "no", "true", "false",
		NULL };
	json_t *v = NULL;
	int i;

	err[0] = '\0';
	switch (pp->type) {
	case CLI_V_FLAG:
		return json_true();
	case CLI_V_OPTINT:
		if (w == pp->kw) /* given without its value */
			return json_true();
		return cli_conv_int(w, pp, err, len);
	case CLI_V_STR:
		v = json_string(w);
		break;
	case CLI_V_INT:
		return cli_conv_int(w, pp, err, len);
	case CLI_V_LIST:
		return cli_conv_list(w, pp, NULL, err, len);
	case CLI_V_ENUMLIST:
		return cli_conv_list(w, pp, pp->choices, err, len);
	case CLI_V_ENUM:
		return cli_conv_enum(w, pp, pp->choices, err, len);
	case CLI_V_FILE:
		return cli_file_read(pp->kw, w, err, len);
	case CLI_V_CONF:
	case CLI_V_CONFPART:
		return cli_conf_read(w, pp->type == CLI_V_CONF, err, len);
	case CLI_V_BOOL:
		if ((i = cli_match(w, yesno)) >= 0)
			return json_boolean(i % 2 == 0);
		return cli_fail(err, len, "%s: \"%s\" is not yes or no", pp->kw,
		    w);
	}
	if (!v && !err[0])
		cli_fail(err, len, "%s: \"%s\" is not valid UTF-8",
		    pp->kw ? pp->kw : pp->meta, w);
	return v;
}

static json_t *
cli_incomplete(const struct cli_parse *p, char *err, size_t len)
{
	char list[200];

	cli_expected(p, list, sizeof(list));
	snprintf(err, len, "incomplete command (valid next: %s)", list);
	return NULL;
}

static int
cli_check_given(const struct cli_parse *p, char *err, size_t len)
{
	const struct cli_param *pp = p->cmd->params;
	char list[200];
	int i, n = 0;

	if (p->pending) {
		snprintf(err, len, "\"%s\" needs a value (%s)", p->pending->kw,
		    p->pending->meta);
		return -1;
	}
	for (i = 0; pp[i].key; i++)
		n += p->val[i] != NULL;
	if ((p->cmd->flags & CLI_C_ONEOF) && n != 1) {
		cli_oneof_list(p->cmd, list, sizeof(list));
		snprintf(err, len, "give one of %s", list);
		return -1;
	}
	for (i = 0; pp[i].key; i++) {
		if (p->val[i] || !(pp[i].flags & CLI_P_REQ))
			continue;
		if (pp[i].kw)
			snprintf(err, len, "missing \"%s %s\"", pp[i].kw,
			    pp[i].meta);
		else
			snprintf(err, len, "missing %s", pp[i].meta);
		return -1;
	}
	return 0;
}

static int
cli_has_attrs(const struct cli_cmd *c)
{
	int i;

	for (i = 0; c->params[i].key; i++)
		if (c->params[i].flags & CLI_P_ATTR)
			return 1;
	return 0;
}

json_t *
cli_request_build(struct cli_parse *p, char *err, size_t len)
{
	const struct cli_param *pp;
	json_t *req, *args, *attrs = NULL, *v;
	int i;

	if (!p->cmd)
		return cli_incomplete(p, err, len);
	if (p->cmd->place)
		p->cmd->place(p);
	if (cli_check_given(p, err, len) < 0)
		return NULL;
	args = json_object();
	if (p->cmd->fixkey)
		json_object_set_new(args, p->cmd->fixkey,
		    json_string(p->cmd->fixval));
	if (cli_has_attrs(p->cmd))
		attrs = json_object();
	for (pp = p->cmd->params, i = 0; pp[i].key; i++) {
		if (!p->val[i] || (pp[i].flags & CLI_P_LOCAL))
			continue;
		if (!(v = cli_conv(p->val[i], &pp[i], err, len)))
			goto fail_args;
		json_object_set_new(pp[i].flags & CLI_P_ATTR ? attrs : args,
		    pp[i].key, v);
		if (pp[i].type == CLI_V_CONF || pp[i].type == CLI_V_CONFPART)
			json_object_set_new(args, "file",
			    cli_conf_name(p->val[i]));
	}
	if (attrs)
		json_object_set_new(args, "attrs", attrs);
	req = json_pack("{s:i, s:s, s:o}", "v", 1, "cmd", p->cmd->cmd, "args",
	    args);
	return req;
fail_args:
	json_decref(attrs);
	json_decref(args);
	return NULL;
}

int
cli_param_given(const struct cli_parse *p, const char *key)
{
	int i;

	if (!p->cmd)
		return 0;
	for (i = 0; p->cmd->params[i].key; i++)
		if (strcmp(p->cmd->params[i].key, key) == 0)
			return p->val[i] != NULL;
	return 0;
}

/* One command's synopsis, wrapped at 78 columns. */
static void
cli_usage_one(FILE *f, const struct cli_cmd *c)
{
	const struct cli_param *pp;
	char word[96];
	int col, d, i, req;

	col = fprintf(f, "  ");
	for (d = 0; d < CLI_PATH_MAX && c->words[d]; d++)
		col += fprintf(f, "%s%s", d ? " " : "", c->words[d]);
	for (pp = c->params, i = 0; pp[i].key; i++) {
		req = pp[i].flags & CLI_P_REQ || c->flags & CLI_C_ONEOF;
		if (!pp[i].kw)
			snprintf(word, sizeof(word), "%s", pp[i].meta);
		else if (pp[i].type == CLI_V_FLAG)
			snprintf(word, sizeof(word), "[%s]", pp[i].kw);
		else
			snprintf(word, sizeof(word), "%s%s %s%s",
			    req ? "" : "[", pp[i].kw, pp[i].meta,
			    req ? "" : "]");
		if (i && (c->flags & CLI_C_ONEOF))
			col += fprintf(f, " |");
		if (col + 1 + (int)strlen(word) > 78)
			col = fprintf(f, "\n      ");
		col += fprintf(f, " %s", word);
	}
	fputc('\n', f);
}

void
cli_usage_commands(FILE *f)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->cmd; c++) {
		cli_usage_one(f, c);
		if (c->place) /* the positional form of explain */
			fprintf(f,
			    "  %s SRC DST PROTO [[SPORT] DPORT [IFACE]] "
			    "[token FILE]\n",
			    c->words[0]);
	}
}
