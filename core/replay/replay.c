/*
 * Offline replay: a capture through the same parser, classifier and
 * counters as the live path, without an EAL.  Lets an admin see what a
 * new database or policy would do before deploying it.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "core/classify/cls_fmt.h"
#include "core/replay/replay.h"

static pcap_t *
replay_open(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc;

	if ((pc = pcap_open_offline(path, errbuf)) == NULL) {
		fprintf(stderr, "cordon-dp: %s: %s\n", path, errbuf);
		return NULL;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "cordon-dp: %s: link type %s, need Ethernet\n",
		    path, pcap_datalink_val_to_name(pcap_datalink(pc)));
		pcap_close(pc);
		return NULL;
	}
	return pc;
}

int
replay_packet(const struct policy *p, const struct geo_tables *g, int64_t now,
    unsigned dir, const uint8_t *data, uint32_t caplen, struct pkt_meta *m,
    struct cls_verdict *v)
{
	/* Offline there are no sessions: identity flows are unidentified. */
	struct cls_env env = { p, g, NULL, now };
	int rc;

	memset(m, 0, sizeof(*m));
	rc = pkt_parse_cfg(data, caplen, &p->tuncfg, m);
	if (rc == 0)
		cls_classify(&env, m, dir, v);
	else
		cls_unparsed(p, rc, v);
	return rc;
}

static void
replay_one(const struct policy *p, const struct geo_tables *g,
    const struct replay_opts *o, const struct pcap_pkthdr *h,
    const uint8_t *data, uint64_t n, FILE *out, struct stats *st)
{
	struct pkt_meta m;
	struct cls_verdict v;
	struct cls_record r;
	geo_cc_t lcc[PKT_LAYER_MAX];
	int rc;

	rc = replay_packet(p, g, (int64_t)h->ts.tv_sec, o->dir, data, h->caplen,
	    &m, &v);
	stats_account(st, &v, rc == 0);
	if (rc == 0)
		stats_tun(st, &m);
	st->port[0].rx_packets++;
	st->port[0].rx_bytes += h->len;
	memset(&r, 0, sizeof(r));
	r.n = n;
	r.parsed = rc == 0;
	r.m = &m;
	r.v = &v;
	if (rc == 0 && m.nlayer) {
		cls_layer_ccs(g, &m, lcc);
		r.layer_cc = lcc;
	}
	cls_record_json(out, p, &r);
}

int
replay_run(const struct policy *p, const struct geo_tables *g,
    const struct replay_opts *o, struct stats *st)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	pcap_t *pc;
	FILE *out = stdout;
	int rc;

	if ((pc = replay_open(o->in)) == NULL)
		return -1;
	if (o->out && strcmp(o->out, "-") != 0 &&
	    (out = fopen(o->out, "w")) == NULL) {
		perror(o->out);
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		replay_one(p, g, o, h, data, ++n, out, st);
	if (rc == PCAP_ERROR)
		fprintf(stderr, "cordon-dp: %s: packet %lu: %s\n", o->in, n + 1,
		    pcap_geterr(pc));
	pcap_close(pc);
	if (out != stdout && fclose(out) != 0) {
		perror(o->out);
		return -1;
	}
	fflush(stdout);
	return rc == PCAP_ERROR ? -1 : 0;
}
