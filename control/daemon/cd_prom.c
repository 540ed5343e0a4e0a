/*
 * The Prometheus listener (control.prometheus.listen): cordond opens the
 * listening socket and renders the text, the same as `cordonctl show
 * counters prometheus` (control/cli/cli_prom.c, fed by the status,
 * counters, show rules, show logging and session list handlers); the
 * monitoring child accepts the scrapes and parses HTTP
 * (control/mon/mon_http.c), and asks for the text (cd_proc_mon.c).
 */
#define _GNU_SOURCE /* accept4, asprintf, memmem */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/cli/cli_prom.h"
#include "control/daemon/cordond.h"

struct cd_prom {
	int lfd;
};

/* One handler's data, asked as a read-only client would; NULL when the
 * handler refused (the dataplane is down). */
static json_t *
cd_prom_data(struct cd *d, const char *cmd, const char *what)
{
	struct cd_client c = { .fd = -1,
		.ro = true,
		.uid = (uid_t)-1,
		.gid = (gid_t)-1 };
	json_t *req, *reply, *data = NULL;

	req = what ? json_pack("{s:i, s:s, s:{s:s}}", "v", 1, "cmd", cmd,
	                 "args", "what", what)
	           : json_pack("{s:i, s:s}", "v", 1, "cmd", cmd);
	if (req == NULL)
		return NULL;
	reply = cd_cmd_run(d, req, &c);
	if (json_is_true(json_object_get(reply, "ok")))
		data = json_incref(json_object_get(reply, "data"));
	json_decref(reply);
	json_decref(req);
	return data;
}

/* TEXT with the top denied sources after it (cli_prom_top.c). */
static char *
cd_prom_top(struct cd *d, char *text)
{
	json_t *top = text ? cd_prom_data(d, "top", NULL) : NULL;
	char *more = top ? cli_prom_top_format(top) : NULL, *all = NULL;

	json_decref(top);
	if (more && asprintf(&all, "%s%s", text, more) >= 0) {
		free(text);
		text = all;
	}
	free(more);
	return text;
}

char *
cd_prom_text(struct cd *d)
{
	json_t *st = cd_prom_data(d, "status", NULL);
	json_t *cn = cd_prom_data(d, "counters", NULL);
	json_t *ru = cn ? cd_prom_data(d, "show", "rules") : NULL;
	json_t *lg = cd_prom_data(d, "show", "logging");
	json_t *ss = d->sess ? cd_prom_data(d, "session-list", NULL) : NULL;
	struct cli_prom_in in = { st, cn, ru, lg, ss };
	char *text = cli_prom_format_all(&in);

	text = cd_prom_top(d, text);
	json_decref(ss);
	json_decref(lg);
	json_decref(ru);
	json_decref(cn);
	json_decref(st);
	return text;
}

int
cd_prom_open(struct cd *d)
{
	struct sockaddr_storage ss;
	char why[160];
	unsigned len;
	int fd, one = 1;

	if (d->ctl.prom_listen[0] == '\0')
		return 0;
	if (conf_listen_parse(d->ctl.prom_listen, &ss, &len, why, sizeof(why)) <
	    0) {
		cd_log("prometheus %s: %s", d->ctl.prom_listen, why);
		return -1;
	}
	if ((d->prom = calloc(1, sizeof(*d->prom))) == NULL ||
	    (fd = socket(ss.ss_family,
	         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	d->prom->lfd = fd;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0)
		goto fail_fd;
	cd_log("prometheus: listening on %s", d->ctl.prom_listen);
	return 0;
fail_fd:
	close(fd);
fail:
	cd_log("prometheus %s: %s", d->ctl.prom_listen, strerror(errno));
	free(d->prom);
	d->prom = NULL;
	return -1;
}

void
cd_prom_close(struct cd *d)
{
	if (d->prom == NULL)
		return;
	close(d->prom->lfd);
	free(d->prom);
	d->prom = NULL;
}

int
cd_prom_fd(const struct cd *d)
{
	return d->prom ? d->prom->lfd : -1;
}
