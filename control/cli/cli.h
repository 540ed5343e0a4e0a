/*
 * cordonctl: the admin CLI, a thin client of cordond (docs/control.md
 * section 3).  The command tree is one table (cli_table.c); the parser,
 * the help, the bash completion and the request builder all walk it.
 * The daemon validates; the client only types the arguments as JSON.
 */
#ifndef CORDON_CLI_H
#define CORDON_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define CLI_VERSION        "0.1.0"
#define CLI_SOCK_RW        "/run/cordon/cordon.sock"
#define CLI_TIMEOUT_S      30
#define CLI_OUTCOME_MS     30000      /* after a start notice, wait this long */
#define CLI_REQUEST_MAX    (1u << 20) /* the daemon refuses more */
#define CLI_REPLY_MAX      (64u << 20)
#define CLI_PATH_MAX       3 /* keywords of a command path */
#define CLI_PARAM_MAX      16
#define CLI_WORDS_MAX      256
#define CLI_FILE_MAX       (64u << 10)  /* a token file, before trimming */
#define CLI_LOAD_MAX       (512u << 10) /* load: a config file, flattened */
#define CLI_INVALID_PREFIX "invalid: "  /* a request refused here, exit 5 */

/* Exit status, documented in cordonctl -h and cordonctl(8). */
enum cli_exit {
	CLI_EX_OK = 0,
	CLI_EX_REFUSED = 1, /* the daemon answered with an error */
	CLI_EX_USAGE = 2,
	CLI_EX_UNREACH = 3, /* no daemon, timeout, broken reply */
	CLI_EX_STALE = 4,   /* error code "stale" */
	CLI_EX_INVALID = 5, /* error code "invalid" */
	CLI_EX_TOKEN = 6,   /* error code "token-refused" */
	CLI_EX_FULL = 7,    /* error code "session-table-full" */
	CLI_EX_AUDIT = 8,   /* audit verify: the log is not intact */
	CLI_EX_UNKNOWN = 9, /* started, no answer: may or may not be made */
};

/* How a parameter's word(s) become JSON. */
enum cli_vtype {
	CLI_V_FLAG,     /* keyword alone: true */
	CLI_V_STR,      /* string */
	CLI_V_INT,      /* integer */
	CLI_V_LIST,     /* a,b,c: array of strings */
	CLI_V_BOOL,     /* yes|no: true/false */
	CLI_V_ENUM,     /* one of choices (prefixes accepted): string */
	CLI_V_ENUMLIST, /* a,b of choices: array of strings */
	CLI_V_OPTINT,   /* keyword, then maybe an integer: int, or true */
	CLI_V_FILE,     /* a file ("-": stdin) read whole: its trimmed text */
	CLI_V_CONF,     /* a whole config file, checked, flattened (+ "file") */
	CLI_V_CONFPART, /* part of a config: its syntax only is checked */
};

#define CLI_P_REQ   0x1 /* must be given */
#define CLI_P_POS   0x2 /* may be given without its keyword, in order */
#define CLI_P_ATTR  0x4 /* goes into args.attrs, not args */
#define CLI_P_LOCAL 0x8 /* for cordonctl itself, not sent */

struct cli_param {
	const char *kw;  /* keyword; NULL: positional only */
	const char *key; /* JSON member name */
	enum cli_vtype type;
	const char *const *choices; /* ENUM, ENUMLIST: NULL-terminated */
	unsigned flags;
	const char *meta; /* placeholder shown in help: NAME, MINUTES */
	const char *help;
	/* What cordond names for completion here (its "complete" command:
	 * rules, regions, services, ports, nexthops, revisions), or NULL. */
	const char *from;
};

#define CLI_C_RO    0x1 /* allowed on the read-only socket */
#define CLI_C_ONEOF 0x2 /* exactly one of the parameters must be given */

struct cli_parse;

struct cli_cmd {
	const char *words[CLI_PATH_MAX]; /* keyword path, NULL-padded */
	const char *help;
	const char *cmd;    /* request "cmd" */
	const char *fixkey; /* a fixed string argument: what, kind */
	const char *fixval;
	unsigned flags;
	const struct cli_param *params; /* terminated by an all-NULL entry */
	/* Reassigns positional words after parsing (explain's [SPORT]). */
	void (*place)(struct cli_parse *p);
	const char *numbered; /* text output: this array as numbered lines */
	/* Text output of its own; NULL: cli_render_text. */
	void (*render)(FILE *f, json_t *data, const struct cli_cmd *cmd);
};

/* First words of multi-word commands, for help at the top level. */
struct cli_group {
	const char *word;
	const char *help;
};

extern const struct cli_cmd cli_cmds[];
extern const struct cli_group cli_groups[];

/* Where a walk over the words stopped. */
enum cli_state {
	CLI_S_DONE,  /* all words consumed */
	CLI_S_HELP,  /* "?" (or "help" where a keyword may be) met */
	CLI_S_ERROR, /* p->err says why */
};

struct cli_parse {
	int depth;                      /* path words resolved */
	const char *path[CLI_PATH_MAX]; /* the table's spelling */
	const struct cli_cmd *cmd; /* NULL until the path names a command */
	const char *val[CLI_PARAM_MAX];     /* raw word per param, or NULL */
	unsigned char bypos[CLI_PARAM_MAX]; /* given without keyword */
	const struct cli_param *pending;    /* keyword seen, value expected */
	char err[512];
};

/*
 * Walks ARGV against the table.  Returns where it stopped; on
 * CLI_S_HELP, P describes what is valid at that point.  Never prints.
 */
enum cli_state cli_parse_words(struct cli_parse *p, int argc,
    char *const *argv);

/* Formats the keywords valid after P's path as "a, b, c" into BUF. */
void cli_expected(const struct cli_parse *p, char *buf, size_t len);

/* Prints what is valid next at P, one "word  help" line each. */
void cli_help_print(FILE *f, const struct cli_parse *p);

/*
 * Completion: ARGV are the words before the cursor plus the partial
 * word last (possibly "").  Prints every valid next word starting with
 * it, one per line.  Where a value is expected, the names FETCH(FROM,
 * ARG) returns (a JSON array of strings, or NULL: nothing) when the
 * parameter has a FROM; else nothing.  FETCH may be NULL.
 */
typedef json_t *cli_fetch_fn(const char *from, void *arg);
void cli_complete_print(FILE *f, int argc, char *const *argv,
    cli_fetch_fn *fetch, void *arg);

/*
 * Builds {"v":1,"cmd":...,"args":{...}} from a walk that ended in
 * CLI_S_DONE.  Returns NULL with a message in ERR on a usage error
 * (incomplete command, missing or badly typed argument).
 */
json_t *cli_request_build(struct cli_parse *p, char *err, size_t errlen);

/* Whether the parameter KEY was given (CLI_P_LOCAL ones included). */
int cli_param_given(const struct cli_parse *p, const char *key);

/* Formats the keywords of C as "a, b, c" (CLI_C_ONEOF messages). */
void cli_oneof_list(const struct cli_cmd *c, char *buf, size_t len);

/* Prints the command summary of cordonctl -h, from the table. */
void cli_usage_commands(FILE *f);

/* Matches WORD against the NULL-terminated CHOICES: exact, else unique
 * prefix.  Returns the index, -1 when none, -2 when ambiguous. */
int cli_match(const char *word, const char *const *choices);

/*
 * Connects to the stream socket PATH within TIMEOUT_MS.  Returns the
 * (non-blocking) fd, or -1 with errno set (EACCES when the socket
 * exists but we may not use it, ETIMEDOUT).
 */
int cli_conn_open(const char *path, int timeout_ms);

/*
 * Sends REQ framed (4-byte big-endian length + JSON) with its deadline
 * (now + TIMEOUT_MS, CLOCK_MONOTONIC ms) and reads the framed reply,
 * after any start notice.  Returns the reply object, checked to be
 * {"v":1,"ok":bool,...}; NULL with ERR filled and *EX the exit status
 * when the exchange fails, times out, or the reply is oversized or
 * malformed: CLI_EX_UNREACH when cordond had not started the request
 * (nothing was changed), CLI_EX_UNKNOWN when it had.
 */
json_t *cli_conn_call(int fd, const json_t *req, int timeout_ms, int *ex,
    char *err, size_t errlen);

/* Prints DATA as text: key: value lines, tables, raw multi-line text. */
void cli_render_text(FILE *f, json_t *data, const struct cli_cmd *cmd);

/*
 * Renderers of cli_sess.c (struct cli_cmd's render): a session as
 * key: value lines with readable times, sessions as one table and a
 * summary line, explain with its identity walk after the steps.
 */
void cli_render_session(FILE *f, json_t *data, const struct cli_cmd *cmd);
void cli_render_sessions(FILE *f, json_t *data, const struct cli_cmd *cmd);
void cli_render_explain(FILE *f, json_t *data, const struct cli_cmd *cmd);

/*
 * "in 9m59s", "expired 5s ago": unix time T against NOW, into BUF.
 * NOW is cli_now(): time(NULL), or CORDONCTL_NOW when set (tests).
 */
void cli_fmt_expiry(char *buf, size_t len, long long t, long long now);
long long cli_now(void);

/*
 * Reads the token file PATH ("-": standard input): at most CLI_FILE_MAX
 * bytes, surrounding whitespace stripped, not empty.  Returns a JSON
 * string, or NULL with a message in ERR.
 */
json_t *cli_file_read(const char *kw, const char *path, char *err,
    size_t errlen);

/*
 * cordonctl monitor (cli_mon.c): reads cordond's event lines from FD
 * after the subscription's reply and prints them, as text or (JSON) as
 * they came, until cordond closes (CLI_EX_UNREACH) or SIGINT/SIGTERM
 * or a closed standard output ends it (CLI_EX_OK).
 */
int cli_monitor_stream(int fd, int json);

/*
 * cli_load.c: the config file PATH flattened (store_flatten) as a JSON
 * string; WHOLE: loaded first as cordond loads a config, so a bad file
 * is refused here as PATH:LINE.  NULL with ERR.  name: PATH as the
 * request's "file" (absolute when it resolves).  render_config: show
 * config as a loadable file.
 */
json_t *cli_conf_read(const char *path, int whole, char *err, size_t errlen);
json_t *cli_conf_name(const char *path);
void cli_render_config(FILE *f, json_t *data, const struct cli_cmd *cmd);

#endif
