/*
 * Walks the words of a command line over the table of cli_table.c:
 * keyword paths with unambiguous prefixes, then the command's
 * parameters (keywords in any order, positional values in order).  The
 * same walk serves the parser, "?" help and bash completion.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"

#define CLI_CAND_MAX 64

static int
cli_is_help(const char *w)
{
	return strcmp(w, "?") == 0 || strcmp(w, "help") == 0;
}

int
cli_match(const char *word, const char *const *choices)
{
	size_t len = strlen(word);
	int i, found = -1;

	if (len == 0)
		return -1;
	for (i = 0; choices[i]; i++) {
		if (strcmp(word, choices[i]) == 0)
			return i;
		if (strncmp(word, choices[i], len) == 0)
			found = found == -1 ? i : -2;
	}
	return found;
}

/* Formats the CHOICES that start with WORD (all when WORD is "") as
 * "a, b, c" into BUF. */
static void
cli_join(char *buf, size_t len, const char *word, const char *const *choices)
{
	size_t wl = strlen(word), off = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; choices[i] && off < len; i++) {
		if (!choices[i][0] || strncmp(word, choices[i], wl) != 0)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
		    choices[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Whether A becomes B by one insertion, deletion, change, or swap of
 * two neighbours (B != A). */
static int
cli_one_edit(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0;
	const char *t;

	if (la > lb) {
		t = a, a = b, b = t;
		i = la, la = lb, lb = i, i = 0;
	}
	while (i < la && a[i] == b[i])
		i++;
	if (lb == la + 1)
		return strcmp(a + i, b + i + 1) == 0;
	if (lb != la || i == la)
		return 0;
	if (strcmp(a + i + 1, b + i + 1) == 0)
		return 1;
	return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
	       strcmp(a + i + 2, b + i + 2) == 0;
}

/*
 * Appends " - did you mean "x"?" to ERR when W is one edit away from
 * some of CHOICES (words of three letters or more: shorter ones are
 * one edit from too much to help).
 */
static void
cli_did_you_mean(char *err, size_t len, const char *w,
    const char *const *choices)
{
	size_t off = strlen(err);
	int i, n = 0;

	if (strlen(w) < 3)
		return;
	for (i = 0; choices[i] && off < len; i++) {
		if (!choices[i][0] || !cli_one_edit(w, choices[i]))
			continue;
		snprintf(err + off, len - off, "%s\"%s\"",
		    n++ ? " or " : " - did you mean ", choices[i]);
		off = strlen(err);
	}
	if (n && off < len)
		snprintf(err + off, len - off, "?");
}

static int
cli_path_matches(const struct cli_cmd *c, const struct cli_parse *p)
{
	int d;

	for (d = 0; d < p->depth; d++)
		if (c->words[d] == NULL || strcmp(c->words[d], p->path[d]))
			return 0;
	return 1;
}

/* The distinct keywords valid after P's path, in table order. */
static int
cli_path_next(const struct cli_parse *p, const char **out)
{
	const struct cli_cmd *c;
	int n = 0, i;

	for (c = cli_cmds; c->cmd; c++) {
		if (p->depth >= CLI_PATH_MAX || !cli_path_matches(c, p) ||
		    c->words[p->depth] == NULL)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(out[i], c->words[p->depth]) == 0)
				break;
		if (i == n && n < CLI_CAND_MAX - 1)
			out[n++] = c->words[p->depth];
	}
	out[n] = NULL;
	return n;
}

void
cli_expected(const struct cli_parse *p, char *buf, size_t len)
{
	const char *cand[CLI_CAND_MAX];

	cli_path_next(p, cand);
	cli_join(buf, len, "", cand);
}

/* The command whose whole path is P's path, if any. */
static const struct cli_cmd *
cli_path_cmd(const struct cli_parse *p)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->cmd; c++)
		if (cli_path_matches(c, p) &&
		    (p->depth == CLI_PATH_MAX || c->words[p->depth] == NULL))
			return c;
	return NULL;
}

static enum cli_state
cli_step_path(struct cli_parse *p, const char *w)
{
	const char *cand[CLI_CAND_MAX];
	char list[256];
	int i;

	if (cli_is_help(w))
		return CLI_S_HELP;
	cli_path_next(p, cand);
	i = cli_match(w, cand);
	if (i < 0) {
		cli_join(list, sizeof(list), i == -2 ? w : "", cand);
		snprintf(p->err, sizeof(p->err), "%s \"%s\" (%s: %s)",
		    i == -2 ? "ambiguous" : "unknown command", w,
		    i == -2 ? "matches" : "valid", list);
		if (i == -1)
			cli_did_you_mean(p->err, sizeof(p->err), w, cand);
		return CLI_S_ERROR;
	}
	p->path[p->depth++] = cand[i];
	p->cmd = cli_path_cmd(p);
	return CLI_S_DONE;
}

/* The first positional-only parameter still to be given, or -1. */
static int
cli_next_posonly(const struct cli_parse *p)
{
	int i;

	for (i = 0; p->cmd->params[i].key; i++)
		if (!p->cmd->params[i].kw && !p->val[i])
			return i;
	return -1;
}

/* The first parameter that may still be given without keyword, or -1. */
static int
cli_next_pos(const struct cli_parse *p)
{
	int i;

	for (i = 0; p->cmd->params[i].key; i++)
		if ((p->cmd->params[i].flags & CLI_P_POS) && !p->val[i])
			return i;
	return -1;
}

/* The keywords of the command's parameters; unnamed ones as "". */
static void
cli_param_kws(const struct cli_cmd *c, const char **out)
{
	int i;

	for (i = 0; c->params[i].key; i++)
		out[i] = c->params[i].kw ? c->params[i].kw : "";
	out[i] = NULL;
}

static int
cli_is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* An optional value not given: the keyword alone (stored as itself). */
static void
cli_pending_close(struct cli_parse *p)
{
	p->val[p->pending - p->cmd->params] = p->pending->kw;
	p->pending = NULL;
}

/*
 * A keyword may also be written as an option: --KEYWORD (or a prefix;
 * "session add --token FILE"), and a flag as -K when K starts exactly
 * one flag of the command.  Anything else is returned as it is.
 */
static const char *
cli_flag_option(const struct cli_cmd *c, const char *w)
{
	const char *kws[CLI_PARAM_MAX + 1], *flags[CLI_PARAM_MAX + 1];
	char one[2] = { w[0] ? w[1] : '\0', '\0' };
	int i, nk = 0, nf = 0;

	if (w[0] != '-' || w[1] == '\0')
		return w;
	for (i = 0; c->params[i].key; i++) {
		if (!c->params[i].kw)
			continue;
		kws[nk++] = c->params[i].kw;
		if (c->params[i].type == CLI_V_FLAG)
			flags[nf++] = c->params[i].kw;
	}
	kws[nk] = NULL;
	flags[nf] = NULL;
	if (w[1] == '-')
		return (i = cli_match(w + 2, kws)) >= 0 ? kws[i] : w;
	i = w[2] == '\0' ? cli_match(one, flags) : -1;
	return i >= 0 ? flags[i] : w;
}

/* How many parameters have a value (or a keyword waiting for one). */
static int
cli_given_count(const struct cli_parse *p)
{
	int i, n = p->pending != NULL;

	for (i = 0; p->cmd->params[i].key; i++)
		n += p->val[i] != NULL;
	return n;
}

/* "id, sub, jti, src": the keywords of a CLI_C_ONEOF command. */
void
cli_oneof_list(const struct cli_cmd *c, char *buf, size_t len)
{
	const char *kws[CLI_PARAM_MAX + 1];

	cli_param_kws(c, kws);
	cli_join(buf, len, "", kws);
}

static enum cli_state
cli_step_param(struct cli_parse *p, const char *w)
{
	const struct cli_param *pp = p->cmd->params;
	const char *kws[CLI_PARAM_MAX + 1];
	char list[256];
	int i;

	if (strcmp(w, "?") == 0)
		return CLI_S_HELP;
	/* NAME-like values come first: a rule may be called "src". */
	if ((i = cli_next_posonly(p)) >= 0) {
		p->val[i] = w;
		return CLI_S_DONE;
	}
	if (cli_is_help(w))
		return CLI_S_HELP;
	w = cli_flag_option(p->cmd, w);
	cli_param_kws(p->cmd, kws);
	i = w[0] ? cli_match(w, kws) : -1;
	if (i >= 0) {
		if (p->val[i]) {
			snprintf(p->err, sizeof(p->err), "\"%s\" given twice",
			    pp[i].kw);
			return CLI_S_ERROR;
		}
		if ((p->cmd->flags & CLI_C_ONEOF) && cli_given_count(p)) {
			cli_oneof_list(p->cmd, list, sizeof(list));
			snprintf(p->err, sizeof(p->err),
			    "\"%s\": only one of %s may be given", pp[i].kw,
			    list);
			return CLI_S_ERROR;
		}
		if (pp[i].type == CLI_V_FLAG)
			p->val[i] = pp[i].kw;
		else
			p->pending = &pp[i];
		return CLI_S_DONE;
	}
	if (i == -1 && (i = cli_next_pos(p)) >= 0) {
		p->val[i] = w;
		p->bypos[i] = 1;
		return CLI_S_DONE;
	}
	cli_join(list, sizeof(list), i == -2 ? w : "", kws);
	snprintf(p->err, sizeof(p->err), "%s \"%s\" after \"%s\" (%s: %s)",
	    i == -2 ? "ambiguous" : "unexpected", w, p->path[p->depth - 1],
	    i == -2 ? "matches" : "valid", list[0] ? list : "nothing more");
	if (i == -1)
		cli_did_you_mean(p->err, sizeof(p->err), w, kws);
	return CLI_S_ERROR;
}

enum cli_state
cli_parse_words(struct cli_parse *p, int argc, char *const *argv)
{
	enum cli_state st;
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < argc; i++) {
		if (!p->cmd) {
			st = cli_step_path(p, argv[i]);
		} else if (p->pending && strcmp(argv[i], "?") == 0) {
			return CLI_S_HELP;
		} else if (p->pending && p->pending->type == CLI_V_OPTINT &&
		           !cli_is_number(argv[i])) {
			/* "confirmed" alone: the word is the next keyword. */
			cli_pending_close(p);
			st = cli_step_param(p, argv[i]);
		} else if (p->pending) {
			p->val[p->pending - p->cmd->params] = argv[i];
			p->pending = NULL;
			st = CLI_S_DONE;
		} else {
			st = cli_step_param(p, argv[i]);
		}
		if (st != CLI_S_DONE)
			return st;
	}
	if (p->pending && p->pending->type == CLI_V_OPTINT)
		cli_pending_close(p);
	return CLI_S_DONE;
}

static int
cli_param_index(const struct cli_cmd *c, const char *key)
{
	int i;

	for (i = 0; c->params[i].key; i++)
		if (strcmp(c->params[i].key, key) == 0)
			return i;
	return -1;
}

/*
 * explain SRC DST PROTO [SPORT] DPORT [IFACE]: the walk filled the
 * positional slots in table order (sport before dport).  Four positional
 * words mean no SPORT; five mean SPORT DPORT when the fifth is a number,
 * else DPORT IFACE.
 */
void
cli_place_explain(struct cli_parse *p)
{
	int sp = cli_param_index(p->cmd, "sport");
	int dp = cli_param_index(p->cmd, "dport");
	int ifc = cli_param_index(p->cmd, "iface");

	if (sp < 0 || dp < 0 || ifc < 0 || !p->bypos[sp])
		return;
	if (!p->val[dp]) {
		p->val[dp] = p->val[sp];
	} else if (p->bypos[dp] && !p->val[ifc] && !cli_is_number(p->val[dp])) {
		p->val[ifc] = p->val[dp];
		p->val[dp] = p->val[sp];
	} else {
		return;
	}
	p->bypos[dp] = 1;
	p->val[sp] = NULL;
	p->bypos[sp] = 0;
}

/* "NAME" or "action ACTION", for messages and help. */
static void
cli_param_label(char *buf, size_t len, const struct cli_param *pp)
{
	if (!pp->kw)
		snprintf(buf, len, "%s", pp->meta);
	else if (pp->type == CLI_V_FLAG)
		snprintf(buf, len, "%s", pp->kw);
	else
		snprintf(buf, len, "%s %s", pp->kw, pp->meta);
}

static void
cli_help_line(FILE *f, const char *left, const char *help, const char *tail)
{
	if (!help[0] && !tail[0])
		fprintf(f, "  %s\n", left);
	else
		fprintf(f, "  %-22s %s%s\n", left, help, tail);
}

static void
cli_help_path(FILE *f, const struct cli_parse *p)
{
	const char *cand[CLI_CAND_MAX];
	struct cli_parse q = *p;
	const struct cli_group *g;
	const char *help;
	int i;

	cli_path_next(p, cand);
	for (i = 0; cand[i]; i++) {
		q.path[p->depth] = cand[i];
		q.depth = p->depth + 1;
		help = "";
		if ((q.cmd = cli_path_cmd(&q)))
			help = q.cmd->help;
		for (g = cli_groups; !q.cmd && g->word; g++)
			if (p->depth == 0 && strcmp(g->word, cand[i]) == 0)
				help = g->help;
		cli_help_line(f, cand[i], help, "");
	}
}

static void
cli_help_value(FILE *f, const struct cli_param *pp)
{
	static const char *const yesno[] = { "yes", "no", NULL };
	const char *const *ch = pp->type == CLI_V_BOOL ? yesno : pp->choices;
	int i;

	if (!ch) {
		cli_help_line(f, pp->meta, pp->help, "");
		return;
	}
	for (i = 0; ch[i]; i++)
		cli_help_line(f, ch[i], "", "");
	if (pp->type == CLI_V_ENUMLIST)
		cli_help_line(f, "A,B", "several, comma-separated", "");
}

void
cli_help_print(FILE *f, const struct cli_parse *p)
{
	const struct cli_param *pp;
	char label[64];
	int i, complete = 1, oneof;

	if (!p->cmd) {
		cli_help_path(f, p);
		return;
	}
	if (p->pending) {
		cli_help_value(f, p->pending);
		if (p->pending->type != CLI_V_OPTINT)
			return;
	}
	pp = p->cmd->params;
	if ((i = cli_next_posonly(p)) >= 0) {
		cli_help_value(f, &pp[i]);
		return;
	}
	oneof = (p->cmd->flags & CLI_C_ONEOF) != 0;
	if (oneof)
		complete = cli_given_count(p) > 0;
	for (i = 0; pp[i].key && !(oneof && complete); i++) {
		if (p->val[i] || &pp[i] == p->pending)
			continue;
		if (pp[i].flags & CLI_P_REQ)
			complete = 0;
		cli_param_label(label, sizeof(label), &pp[i]);
		cli_help_line(f, label, pp[i].help,
		    pp[i].flags & CLI_P_REQ ? " (required)" : "");
	}
	if ((i = cli_next_pos(p)) >= 0)
		cli_help_line(f, pp[i].meta, pp[i].help, " (without keyword)");
	if (complete)
		cli_help_line(f, "<cr>", "run the command", "");
}

/* Prints the words of W (strings) that start with PART's last item. */
static void
cli_complete_words(FILE *f, const json_t *w, const char *part, bool list)
{
	const char *tail = part, *s;
	const json_t *v;
	size_t i;

	if (list && strrchr(part, ','))
		tail = strrchr(part, ',') + 1;
	json_array_foreach(w, i, v) {
		if ((s = json_string_value(v)) != NULL &&
		    strncmp(s, tail, strlen(tail)) == 0)
			fprintf(f, "%.*s%s\n", (int)(tail - part), part, s);
	}
}

/* The names cordond offers for PP (cli_param.from), printed. */
static void
cli_complete_fetched(FILE *f, const struct cli_param *pp, const char *part,
    cli_fetch_fn *fetch, void *arg)
{
	json_t *w;

	if (!pp->from || !fetch || !(w = fetch(pp->from, arg)))
		return;
	cli_complete_words(f, w, part, pp->type == CLI_V_LIST);
	json_decref(w);
}

static void
cli_complete_value(FILE *f, const struct cli_param *pp, const char *part,
    cli_fetch_fn *fetch, void *arg)
{
	static const char *const yesno[] = { "yes", "no", NULL };
	const char *const *ch = pp->type == CLI_V_BOOL ? yesno : pp->choices;
	json_t *w;

	if (!ch) {
		cli_complete_fetched(f, pp, part, fetch, arg);
		return;
	}
	w = json_array();
	for (int i = 0; ch[i]; i++)
		json_array_append_new(w, json_string(ch[i]));
	cli_complete_words(f, w, part, pp->type == CLI_V_ENUMLIST);
	json_decref(w);
}

/* "--tok" -> "--token": the option spelling of the keywords left. */
static void
cli_complete_options(FILE *f, const struct cli_parse *p, const char *part)
{
	const struct cli_param *pp = p->cmd->params;
	int i;

	for (i = 0; pp[i].key; i++)
		if (!p->val[i] && pp[i].kw &&
		    strncmp(pp[i].kw, part, strlen(part)) == 0)
			fprintf(f, "--%s\n", pp[i].kw);
}

void
cli_complete_print(FILE *f, int argc, char *const *argv, cli_fetch_fn *fetch,
    void *arg)
{
	const char *cand[CLI_CAND_MAX];
	const char *part = argc > 0 ? argv[argc - 1] : "";
	struct cli_parse p;
	int i;

	if (cli_parse_words(&p, argc > 0 ? argc - 1 : 0, argv) != CLI_S_DONE)
		return;
	if (p.cmd && p.pending && p.pending->type == CLI_V_OPTINT)
		cli_pending_close(&p);
	if (p.cmd && p.pending) {
		cli_complete_value(f, p.pending, part, fetch, arg);
		return;
	}
	if (p.cmd && (i = cli_next_posonly(&p)) >= 0) {
		cli_complete_fetched(f, &p.cmd->params[i], part, fetch, arg);
		return;
	}
	if (p.cmd && (p.cmd->flags & CLI_C_ONEOF) && cli_given_count(&p))
		return;
	if (p.cmd && strncmp(part, "--", 2) == 0) {
		cli_complete_options(f, &p, part + 2);
		return;
	}
	if (p.cmd) {
		for (i = 0; p.cmd->params[i].key; i++)
			if (!p.val[i] && p.cmd->params[i].kw)
				cand[i] = p.cmd->params[i].kw;
			else
				cand[i] = "";
		cand[i] = NULL;
	} else {
		cli_path_next(&p, cand);
	}
	for (i = 0; cand[i]; i++)
		if (cand[i][0] && strncmp(cand[i], part, strlen(part)) == 0)
			fprintf(f, "%s\n", cand[i]);
}
