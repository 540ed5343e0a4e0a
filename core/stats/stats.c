#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/stats/stats.h"
#include "core/util/clock.h"

void
stats_add(struct stats *sum, const struct stats *s)
{
	const uint64_t *src = (const uint64_t *)s;
	uint64_t *dst = (uint64_t *)sum;

	/* The struct is nothing but uint64_t counters (and padding). */
	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static const char *
stats_rule_name(const struct stats_names *n, unsigned r)
{
	if (r == STATS_RULE_DEFAULT)
		return "(default)";
	return n->pol ? n->pol->rule[r].name : "?";
}

static unsigned
stats_nrules(const struct stats_names *n)
{
	return n->pol ? n->pol->nrules : 0;
}

static void
stats_port_name(const struct stats_names *n, unsigned p, char *buf, size_t len)
{
	if (p < n->nports && n->port[p])
		snprintf(buf, len, "%s", n->port[p]);
	else
		snprintf(buf, len, "port%u", p);
}

static void
stats_text_tun(const struct stats *s, FILE *f)
{
	for (unsigned t = 1; t < PKT_TUN_MAX; t++)
		if (s->tun[t])
			fprintf(f, "tunnel %-10s %lu\n", pkt_tun_name(t),
			    s->tun[t]);
	for (unsigned d = 1; d <= PKT_LAYER_MAX; d++)
		if (s->tun_layers[d])
			fprintf(f, "tunnel layers %u: %lu\n", d,
			    s->tun_layers[d]);
	if (s->tun_opaque)
		fprintf(f, "tunnel opaque %lu\n", s->tun_opaque);
}

/*
 * "tunnels":{"gre":N,...,"layers":[N,...],"opaque":N}: every kind, and
 * the packets by layers seen (index 0: none of them, always 0).
 */
static void
stats_json_tun(const struct stats *s, FILE *f)
{
	fprintf(f, ",\"tunnels\":{");
	for (unsigned t = 1; t < PKT_TUN_MAX; t++)
		fprintf(f, "\"%s\":%lu,", pkt_tun_name(t), s->tun[t]);
	fprintf(f, "\"layers\":[");
	for (unsigned d = 0; d <= PKT_LAYER_MAX; d++)
		fprintf(f, "%s%lu", d ? "," : "", s->tun_layers[d]);
	fprintf(f, "],\"opaque\":%lu}", s->tun_opaque);
}

void
stats_print_text(const struct stats *s, const struct stats_names *n, FILE *f)
{
	char name[64], cc[GEO_CC_STRLEN];

	fprintf(f, "packets: %lu\n", s->packets);
	for (unsigned a = 0; a < CDN_ACT_MAX; a++)
		fprintf(f, "action %-10s %lu\n", cdn_action_name(a),
		    s->action[a]);
	for (unsigned r = 1; r < CDN_R_MAX; r++)
		if (s->reason[r])
			fprintf(f, "reason %-24s %lu\n", cdn_reason_name(r),
			    s->reason[r]);
	for (unsigned r = 0; r < stats_nrules(n); r++)
		fprintf(f, "rule %-28s %lu\n", stats_rule_name(n, r),
		    s->rule[r]);
	fprintf(f, "rule %-28s %lu\n", "(default)",
	    s->rule[STATS_RULE_DEFAULT]);
	for (unsigned c = 0; c < GEO_CC_MAX; c++) {
		if (!s->cc_packets[c])
			continue;
		geo_cc_format((geo_cc_t)c, cc);
		fprintf(f, "country %s packets %lu denied %lu\n", cc,
		    s->cc_packets[c], s->cc_denied[c]);
	}
	for (unsigned p = 0; p < n->nports; p++) {
		stats_port_name(n, p, name, sizeof(name));
		fprintf(f,
		    "port %-10s rx %lu/%lub tx %lu/%lub tx-dropped %lu\n", name,
		    s->port[p].rx_packets, s->port[p].rx_bytes,
		    s->port[p].tx_packets, s->port[p].tx_bytes,
		    s->port[p].tx_dropped);
	}
	fprintf(f, "fragments");
#define X(fl) fprintf(f, " " #fl " %lu", s->frag.fl);
	STATS_FRAG_FIELDS(X)
#undef X
	fprintf(f, "\n");
	fprintf(f, "proxied");
#define X(fl) fprintf(f, " " #fl " %lu", s->prx.fl);
	STATS_PRX_FIELDS(X)
#undef X
	fprintf(f, "\n");
	stats_text_tun(s, f);
	fprintf(f, "evidence");
#define X(fl) fprintf(f, " " #fl " %lu", s->evid.fl);
	STATS_EVID_FIELDS(X)
#undef X
	fprintf(f, "\n");
	fprintf(f, "syslog fallback");
#define X(fl) fprintf(f, " " #fl " %lu", s->slog.fl);
	STATS_SLOG_FIELDS(X)
#undef X
	fprintf(f, "\n");
	if (s->log_dropped || s->log_suppressed || s->log_unsent)
		fprintf(f,
		    "log events dropped: %lu, suppressed: %lu, "
		    "unsent: %lu\n",
		    s->log_dropped, s->log_suppressed, s->log_unsent);
}

static void
stats_json_actions(const struct stats *s, FILE *f)
{
	fprintf(f, "\"actions\":{");
	for (unsigned a = 0; a < CDN_ACT_MAX; a++)
		fprintf(f, "%s\"%s\":%lu", a ? "," : "", cdn_action_name(a),
		    s->action[a]);
	fprintf(f, "},\"reasons\":{");
	for (unsigned r = 1; r < CDN_R_MAX; r++)
		fprintf(f, "%s\"%s\":%lu", r > 1 ? "," : "", cdn_reason_name(r),
		    s->reason[r]);
	fprintf(f, "}");
}

static void
stats_json_rules(const struct stats *s, const struct stats_names *n, FILE *f)
{
	fprintf(f, ",\"rules\":{");
	for (unsigned r = 0; r < stats_nrules(n); r++)
		fprintf(f, "\"%s\":%lu,", stats_rule_name(n, r), s->rule[r]);
	fprintf(f, "\"(default)\":%lu}", s->rule[STATS_RULE_DEFAULT]);
}

static void
stats_json_countries(const struct stats *s, FILE *f)
{
	char cc[GEO_CC_STRLEN];
	int first = 1;

	fprintf(f, ",\"countries\":{");
	for (unsigned c = 0; c < GEO_CC_MAX; c++) {
		if (!s->cc_packets[c])
			continue;
		geo_cc_format((geo_cc_t)c, cc);
		fprintf(f, "%s\"%s\":{\"packets\":%lu,\"denied\":%lu}",
		    first ? "" : ",", cc, s->cc_packets[c], s->cc_denied[c]);
		first = 0;
	}
	fprintf(f, "}");
}

static void
stats_json_ports(const struct stats *s, const struct stats_names *n, FILE *f)
{
	char name[64];

	fprintf(f, ",\"ports\":{");
	for (unsigned p = 0; p < n->nports; p++) {
		stats_port_name(n, p, name, sizeof(name));
		fprintf(f, "%s\"%s\":{", p ? "," : "", name);
#define X(fl)                                                                  \
	fprintf(f, "%s\"" #fl "\":%lu", strcmp(#fl, "rx_packets") ? "," : "",  \
	    s->port[p].fl);
		STATS_PORT_FIELDS(X)
#undef X
		fprintf(f, "}");
	}
	fprintf(f, "}");
}

void
stats_print_json(const struct stats *s, const struct stats_names *n, FILE *f)
{
	/* A monotonic stamp lets readers turn two snapshots into rates. */
	uint64_t ns = clk_mono_ns();

	fprintf(f, "{\"time\":%lu.%09lu,\"packets\":%lu,",
	    (unsigned long)(ns / 1000000000), (unsigned long)(ns % 1000000000),
	    s->packets);
	stats_json_actions(s, f);
	stats_json_rules(s, n, f);
	stats_json_countries(s, f);
	stats_json_ports(s, n, f);
	fprintf(f, ",\"fragments\":{");
#define X(fl)                                                                  \
	fprintf(f, "%s\"" #fl "\":%lu", strcmp(#fl, "tracked") ? "," : "",     \
	    s->frag.fl);
	STATS_FRAG_FIELDS(X)
#undef X
	fprintf(f, "},\"proxied\":{");
#define X(fl)                                                                  \
	fprintf(f, "%s\"" #fl "\":%lu", strcmp(#fl, "tracked") ? "," : "",     \
	    s->prx.fl);
	STATS_PRX_FIELDS(X)
#undef X
	fprintf(f, "}");
	stats_json_tun(s, f);
	fprintf(f, ",\"evidence\":{");
#define X(fl)                                                                  \
	fprintf(f, "%s\"" #fl "\":%lu", strcmp(#fl, "captured") ? "," : "",    \
	    s->evid.fl);
	STATS_EVID_FIELDS(X)
#undef X
	fprintf(f, "},\"syslog_fallback\":{");
#define X(fl)                                                                  \
	fprintf(f, "%s\"" #fl "\":%lu", strcmp(#fl, "events") ? "," : "",      \
	    s->slog.fl);
	STATS_SLOG_FIELDS(X)
#undef X
	fprintf(f, "}");
	fprintf(f,
	    ",\"log_dropped\":%lu,\"log_suppressed\":%lu,"
	    "\"log_unsent\":%lu}\n",
	    s->log_dropped, s->log_suppressed, s->log_unsent);
}

int
stats_write_file(const struct stats *s, const struct stats_names *n,
    const char *path)
{
	return stats_write_fileat(s, n, AT_FDCWD, path);
}

int
stats_write_fileat(const struct stats *s, const struct stats_names *n, int dfd,
    const char *name)
{
	char tmp[4096];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
		return -1;
	/* A new file: never through a link left in the folder (a link
	 * to a file of root's, were cordon-dp root when it writes). */
	if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT)
		return -1;
	fd = openat(dfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	stats_print_json(s, n, f);
	if (fclose(f) != 0 || renameat(dfd, tmp, dfd, name) != 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}
