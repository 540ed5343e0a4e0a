/*
 * cordonctl: the admin CLI of Cordon.  Builds one request from the
 * command line (cli_table.c), sends it to cordond, prints the answer as
 * text or as the daemon's JSON (-j).  See cordonctl(8).
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/cli/cli.h"
#include "control/cli/cli_prom.h"

#define CTL_COMPLETE_MS 2000 /* completion's wait for the daemon, at most */

struct ctl_opts {
	const char *sock;
	int sock_given;
	int json; /* 1 pretty, 2 compact */
	int timeout_ms;
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: cordonctl [-jJ] [-s SOCKET] [-t SECONDS] COMMAND...\n"
	    "       cordonctl COMMAND... ?     what is valid next\n"
	    "options:\n"
	    "  -s SOCKET   cordond socket (default $CORDONCTL_SOCKET, else\n"
	    "              %s);\n"
	    "              show, lookup, explain, audit verify and session\n"
	    "              list fall back to its -ro sibling when access is\n"
	    "              denied\n"
	    "  -j          print the daemon's JSON data, indented\n"
	    "  -J          print the daemon's JSON data on one line\n"
	    "              (-j and -J may also follow the command)\n"
	    "  -t SECONDS  give up after SECONDS (default %d)\n"
	    "  -h          this help\n"
	    "  -V          print the version\n"
	    "commands (keywords may be shortened while unambiguous):\n",
	    CLI_SOCK_RW, CLI_TIMEOUT_S);
	cli_usage_commands(f);
	fprintf(f,
	    "exit status:\n"
	    "  0 success\n"
	    "  1 cordond refused the request (\"cordonctl: CODE: message\")\n"
	    "  2 usage error\n"
	    "  3 cordond cannot be reached, timed out before it started the\n"
	    "    request (nothing was changed) or sent a bad reply\n"
	    "  4 commit refused as stale: the running revision changed\n"
	    "    since the candidate was copied (update or discard it)\n"
	    "  5 the candidate is invalid (commit, commit check), or the\n"
	    "    file of load\n"
	    "  6 the token was refused (session add, explain token)\n"
	    "  7 the session table is full (session add)\n"
	    "  8 the audit log is not intact (audit verify)\n"
	    "  9 cordond started the change but its answer did not arrive:\n"
	    "    it may or may not have been made\n");
}

static int
ctl_options(int argc, char **argv, struct ctl_opts *o)
{
	char *end;
	double t;
	int c;

	while ((c = getopt(argc, argv, "+s:jJt:hV")) != -1) {
		switch (c) {
		case 's':
			o->sock = optarg;
			o->sock_given = 1;
			break;
		case 'j':
		case 'J':
			o->json = c == 'j' ? 1 : 2;
			break;
		case 't':
			t = strtod(optarg, &end);
			if (end == optarg || *end || !(t > 0 && t <= 86400)) {
				fprintf(stderr,
				    "cordonctl: -t: bad timeout "
				    "\"%s\" (seconds, up to 86400)\n",
				    optarg);
				return -1;
			}
			o->timeout_ms = (int)(t * 1000) ? (int)(t * 1000) : 1;
			break;
		case 'h':
			ctl_usage(stdout);
			exit(CLI_EX_OK);
		case 'V':
			printf("cordonctl %s\n", CLI_VERSION);
			exit(CLI_EX_OK);
		default:
			ctl_usage(stderr);
			return -1;
		}
	}
	return 0;
}

/*
 * -j and -J anywhere on the line ("cordonctl show rules -j"): the words
 * are taken out of ARGV before the command is parsed, so no command
 * may have a flag that -j would stand for, and neither word can be
 * given as a value.
 */
static int
ctl_late_json(int argc, char **argv, struct ctl_opts *o)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "-J") == 0)
			o->json = argv[i][1] == 'j' ? 1 : 2;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

/* The read-only sibling of PATH: "x.sock" -> "x-ro.sock", else "x-ro". */
static char *
ctl_ro_path(const char *path)
{
	size_t n = strlen(path);
	char *s;

	if (n >= 5 && strcmp(path + n - 5, ".sock") == 0)
		n -= 5;
	if (asprintf(&s, "%.*s-ro%s", (int)n, path, path[n] ? ".sock" : "") < 0)
		return NULL;
	return s;
}

/* Connects to the socket, falling back to the read-only one for a
 * read-only command when the read-write one is not ours to use; QUIET:
 * says nothing when neither answers. */
static int
ctl_connect_how(const struct ctl_opts *o, const struct cli_cmd *cmd, bool quiet)
{
	int fd = cli_conn_open(o->sock, o->timeout_ms), e = errno;
	char *ro;

	if (fd >= 0 || e != EACCES || !(cmd->flags & CLI_C_RO)) {
		if (fd < 0 && !quiet)
			fprintf(stderr,
			    "cordonctl: cannot reach cordond at "
			    "%s: %s\n",
			    o->sock, strerror(e));
		return fd;
	}
	if (!(ro = ctl_ro_path(o->sock)))
		return -1;
	if ((fd = cli_conn_open(ro, o->timeout_ms)) < 0 && !quiet)
		fprintf(stderr,
		    "cordonctl: cannot reach cordond at %s (%s) "
		    "nor at %s: %s\n",
		    o->sock, strerror(e), ro, strerror(errno));
	free(ro);
	return fd;
}

static int
ctl_connect(const struct ctl_opts *o, const struct cli_cmd *cmd)
{
	return ctl_connect_how(o, cmd, false);
}

static int
ctl_connect_quiet(const struct ctl_opts *o, const struct cli_cmd *cmd)
{
	return ctl_connect_how(o, cmd, true);
}

static int
ctl_exit_code(const char *code)
{
	if (strcmp(code, "stale") == 0)
		return CLI_EX_STALE;
	if (strcmp(code, "invalid") == 0)
		return CLI_EX_INVALID;
	if (strcmp(code, "deadline-passed") == 0)
		return CLI_EX_UNREACH;
	if (strcmp(code, "token-refused") == 0)
		return CLI_EX_TOKEN;
	if (strcmp(code, "session-table-full") == 0 ||
	    strcmp(code, "session-quota") == 0)
		return CLI_EX_FULL;
	return CLI_EX_REFUSED;
}

/*
 * A reply that is an answer, not a refusal, but a bad one: a broken
 * audit chain must fail a script that checks it.
 */
static int
ctl_verdict(const struct cli_cmd *cmd, json_t *data)
{
	if (cmd && strcmp(cmd->cmd, "audit-verify") == 0 &&
	    json_is_false(json_object_get(data, "intact")))
		return CLI_EX_AUDIT;
	return CLI_EX_OK;
}

static int
ctl_print_reply(const struct ctl_opts *o, json_t *reply,
    const struct cli_cmd *cmd)
{
	json_t *data = json_object_get(reply, "data"), *e;

	if (!json_is_true(json_object_get(reply, "ok"))) {
		e = json_object_get(reply, "error");
		fprintf(stderr, "cordonctl: %s: %s\n",
		    json_string_value(json_object_get(e, "code")),
		    json_string_value(json_object_get(e, "message")));
		return ctl_exit_code(
		    json_string_value(json_object_get(e, "code")));
	}
	if (o->json) {
		if (!data)
			data = json_null();
		json_dumpf(data, stdout,
		    JSON_ENCODE_ANY |
		        (o->json == 1 ? JSON_INDENT(2) : JSON_COMPACT));
		fputc('\n', stdout);
	} else if (cmd && cmd->render) {
		cmd->render(stdout, data, cmd);
	} else {
		cli_render_text(stdout, data, cmd);
	}
	if (fflush(stdout) != 0)
		return CLI_EX_REFUSED;
	return ctl_verdict(cmd, data);
}

static int
ctl_run(const struct ctl_opts *o, struct cli_parse *p)
{
	char err[512];
	json_t *req, *reply;
	int fd, rc = CLI_EX_UNREACH;

	if (!(req = cli_request_build(p, err, sizeof(err)))) {
		fprintf(stderr, "cordonctl: %s\n", err);
		/* load: the file is refused here as cordond would refuse it */
		return strncmp(err, CLI_INVALID_PREFIX,
		           strlen(CLI_INVALID_PREFIX)) == 0
		           ? CLI_EX_INVALID
		           : CLI_EX_USAGE;
	}
	if ((fd = ctl_connect(o, p->cmd)) < 0)
		goto out_req;
	reply = cli_conn_call(fd, req, o->timeout_ms, &rc, err, sizeof(err));
	if (!reply) {
		close(fd);
		fprintf(stderr, "cordonctl: %s\n", err);
		goto out_req;
	}
	/* monitor: the subscription is answered, then the events flow. */
	if (strcmp(p->cmd->cmd, "monitor") == 0 &&
	    json_is_true(json_object_get(reply, "ok")))
		rc = cli_monitor_stream(fd, o->json);
	else
		rc = ctl_print_reply(o, reply, p->cmd);
	close(fd);
	json_decref(reply);
out_req:
	json_decref(req);
	return rc;
}

/* One request on its own connection: the reply, or NULL (reported). */
static json_t *
ctl_call(const struct ctl_opts *o, const struct cli_cmd *cmd, const char *name,
    const char *what)
{
	json_t *req, *reply = NULL;
	char err[512];
	int fd, ex;

	req = what ? json_pack("{s:i, s:s, s:{s:s}}", "v", 1, "cmd", name,
	                 "args", "what", what)
	           : json_pack("{s:i, s:s, s:{}}", "v", 1, "cmd", name, "args");
	if (req && (fd = ctl_connect(o, cmd)) >= 0) {
		reply = cli_conn_call(fd, req, o->timeout_ms, &ex, err,
		    sizeof(err));
		close(fd);
		if (!reply)
			fprintf(stderr, "cordonctl: %s\n", err);
	}
	json_decref(req);
	return reply;
}

/* The error code of a refused REPLY, or NULL when it succeeded. */
static const char *
ctl_refused(json_t *reply)
{
	if (json_is_true(json_object_get(reply, "ok")))
		return NULL;
	return json_string_value(
	    json_object_get(json_object_get(reply, "error"), "code"));
}

/* The top denied sources after the counters, when the daemon has them. */
static void
ctl_prom_top(const struct ctl_opts *o, const struct cli_cmd *cmd)
{
	json_t *top = ctl_call(o, cmd, "top", NULL);
	char *text = NULL;

	if (top && !ctl_refused(top) &&
	    (text = cli_prom_top_format(json_object_get(top, "data"))))
		fputs(text, stdout);
	free(text);
	json_decref(top);
}

/*
 * show counters prometheus: status, counters and rules (for the rules'
 * actions), the syslog pipeline and the sessions as one exposition.  A
 * dataplane that is not up leaves the counters out, as the daemon's
 * listener does; no identity group, the sessions.
 */
static int
ctl_prometheus(const struct ctl_opts *o, const struct cli_cmd *cmd)
{
	json_t *st, *cn = NULL, *ru = NULL, *lg = NULL, *ss = NULL;
	struct cli_prom_in in = { NULL, NULL, NULL, NULL, NULL };
	const char *code;
	char *text = NULL;
	int rc = CLI_EX_UNREACH;

	if (!(st = ctl_call(o, cmd, "status", NULL)))
		return rc;
	if (ctl_refused(st)) {
		rc = ctl_print_reply(o, st, cmd);
		goto out;
	}
	if (!(cn = ctl_call(o, cmd, "counters", NULL)))
		goto out;
	if ((code = ctl_refused(cn)) && strcmp(code, "dataplane") != 0) {
		rc = ctl_print_reply(o, cn, cmd);
		goto out;
	}
	if (!code && !(ru = ctl_call(o, cmd, "show", "rules")))
		goto out;
	if (ru && ctl_refused(ru)) {
		rc = ctl_print_reply(o, ru, cmd);
		goto out;
	}
	if (!(lg = ctl_call(o, cmd, "show", "logging")) ||
	    !(ss = ctl_call(o, cmd, "session-list", NULL)))
		goto out;
	in.status = json_object_get(st, "data");
	in.counters = code ? NULL : json_object_get(cn, "data");
	in.rules = json_object_get(ru, "data");
	in.logging = json_object_get(lg, "data");
	in.sessions = json_object_get(ss, "data");
	if (!(text = cli_prom_format_all(&in))) {
		fprintf(stderr, "cordonctl: %s\n", strerror(errno));
		rc = CLI_EX_REFUSED;
		goto out;
	}
	fputs(text, stdout);
	if (!code)
		ctl_prom_top(o, cmd);
	rc = fflush(stdout) == 0 ? CLI_EX_OK : CLI_EX_REFUSED;
out:
	free(text);
	json_decref(ss);
	json_decref(lg);
	json_decref(ru);
	json_decref(cn);
	json_decref(st);
	return rc;
}

/*
 * Completion's names from the running daemon ("complete"), or NULL:
 * a daemon that is down or refuses gives no names, and no message.
 */
static json_t *
ctl_names(const char *from, void *arg)
{
	static const struct cli_cmd ro = { .flags = CLI_C_RO };
	json_t *req, *reply = NULL, *words = NULL;
	char err[512];
	int fd, ex;

	req = json_pack("{s:i, s:s, s:{s:s}}", "v", 1, "cmd", "complete",
	    "args", "what", from);
	if (req && (fd = ctl_connect_quiet(arg, &ro)) >= 0) {
		reply = cli_conn_call(fd, req,
		    ((const struct ctl_opts *)arg)->timeout_ms, &ex, err,
		    sizeof(err));
		close(fd);
	}
	if (json_is_true(json_object_get(reply, "ok")))
		words = json_incref(
		    json_object_get(json_object_get(reply, "data"), "words"));
	json_decref(reply);
	json_decref(req);
	return words;
}

int
main(int argc, char **argv)
{
	struct ctl_opts o = { CLI_SOCK_RW, 0, 0, CLI_TIMEOUT_S * 1000 };
	const char *env = getenv("CORDONCTL_SOCKET");
	struct cli_parse p;
	const char *part;
	int n;

	/* The environment names the socket for a whole script; -s still
	 * wins, and the -ro fallback applies to either. */
	if (env && *env) {
		o.sock = env;
		o.sock_given = 1;
	}
	if (ctl_options(argc, argv, &o) < 0)
		return CLI_EX_USAGE;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_usage(stderr);
		return CLI_EX_USAGE;
	}
	if (strcmp(argv[0], "__complete") == 0) {
		/* A Tab must not hang on a stuck daemon. */
		if (o.timeout_ms > CTL_COMPLETE_MS)
			o.timeout_ms = CTL_COMPLETE_MS;
		/* -j among the words before the partial one is no word. */
		part = argc > 1 ? argv[argc - 1] : "";
		n = argc > 2 ? ctl_late_json(argc - 2, argv + 1, &o) : 0;
		argv[n + 1] = (char *)part;
		cli_complete_print(stdout, n + 1, argv + 1, ctl_names, &o);
		return CLI_EX_OK;
	}
	argc = ctl_late_json(argc, argv, &o);
	switch (cli_parse_words(&p, argc, argv)) {
	case CLI_S_HELP:
		cli_help_print(stdout, &p);
		return CLI_EX_OK;
	case CLI_S_ERROR:
		fprintf(stderr, "cordonctl: %s\n", p.err);
		return CLI_EX_USAGE;
	case CLI_S_DONE:
		break;
	}
	if (cli_param_given(&p, "prometheus")) {
		if (o.json) {
			fprintf(stderr,
			    "cordonctl: prometheus: the "
			    "exposition is text, -j and -J do not apply\n");
			return CLI_EX_USAGE;
		}
		return ctl_prometheus(&o, p.cmd);
	}
	return ctl_run(&o, &p);
}
