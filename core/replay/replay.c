/*
 * Offline replay: a capture through the same parser, classifier and
 * counters as the live path, without an EAL.  Lets an admin see what a
 * new database or policy would do before deploying it.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "core/classify/cls_fmt.h"
#include "core/frag/frag.h"
#include "core/prx/prx_judge.h"
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

/* What replay_one needs besides the packet. */
struct replay_ctx {
	const struct policy *p;
	const struct geo_tables *g;
	const struct replay_opts *o;
	struct frag_table *frag;
	struct prx_flow_table *prx;
	FILE *out;
	struct stats *st;
};

static void
replay_one(const struct replay_ctx *x, const struct pcap_pkthdr *h,
    const uint8_t *data, uint64_t n)
{
	uint64_t us =
	    (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	struct stats *st = x->st;
	struct pkt_meta m;
	struct cls_verdict v;
	struct cls_record r;
	geo_cc_t lcc[PKT_LAYER_MAX];
	geo_cls_t lcls[PKT_LAYER_MAX];
	geo_cc_t ldcc[PKT_LAYER_MAX];
	int rc, fl = 0;

	rc = replay_packet(x->p, x->g, (int64_t)h->ts.tv_sec, x->o->dir, data,
	    h->caplen, &m, &v);
	if (rc == 0 && prx_wants(x->p, &m))
		fl = prx_judge(&(struct cls_env){ x->p, x->g, NULL,
		                   (int64_t)h->ts.tv_sec },
		    x->prx, data, h->caplen, &m, x->o->dir, us, &v, st);
	if (rc == 0 && m.frag != PKT_FRAG_NONE)
		frag_track(x->frag, &m, us, &v, st);
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
	r.cls = geo_tables_classes(x->g);
	r.proxy = fl & PRX_J_RESET     ? "reset"
	          : fl & PRX_J_UNTRUST ? "untrusted"
	                               : NULL;
	if (rc == 0 && m.nlayer) {
		cls_layer_ccs(x->g, &m, lcc, lcls);
		cls_layer_dccs(x->g, x->p, &m, ldcc);
		r.layer_cc = lcc;
		r.layer_cls = lcls;
		r.layer_dcc = ldcc;
	}
	cls_record_json(x->out, x->p, &r);
}

/* The capture's own fragment table, as a worker's is sized. */
static struct frag_table *
replay_frag(const struct replay_opts *o)
{
	unsigned n = o->frag_entries ? o->frag_entries : FRAG_ENTRIES_DEFAULT;
	unsigned ms = o->frag_timeout_ms ? o->frag_timeout_ms
	                                 : FRAG_TIMEOUT_MS_DEFAULT;
	struct frag_table *t = frag_table_new(n, (uint64_t)ms * 1000u, 0);

	if (t == NULL)
		perror("cordon-dp: fragment table");
	return t;
}

/* The capture's proxied flows, as a worker's table by default; idle
 * time on the capture's clock (microseconds). */
static struct prx_flow_table *
replay_prx(const struct policy *p, const struct replay_opts *o)
{
	unsigned idle = o->prx_idle_s ? o->prx_idle_s : PRX_FLOW_IDLE_S_DEF;
	struct prx_flow_table *t =
	    prx_flow_new(o->prx_flows ? o->prx_flows : PRX_FLOWS_DEFAULT,
	        o->prx_flows ? o->prx_buffers : PRX_BUFS_DEFAULT,
	        p->prx_window ? p->prx_window : PRX_WINDOW_DEF,
	        (uint64_t)idle * 1000000u, 0);

	if (t == NULL)
		perror("cordon-dp: proxied flow table");
	return t;
}

int
replay_run(const struct policy *p, const struct geo_tables *g,
    const struct replay_opts *o, struct stats *st)
{
	struct replay_ctx x = { p, g, o, NULL, NULL, stdout, st };
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	pcap_t *pc;
	FILE *out;
	int rc;

	if ((x.frag = replay_frag(o)) == NULL)
		return -1;
	if ((x.prx = replay_prx(p, o)) == NULL)
		goto fail_prx;
	if ((pc = replay_open(o->in)) == NULL)
		goto fail_open;
	if (o->out && strcmp(o->out, "-") != 0 &&
	    (x.out = fopen(o->out, "w")) == NULL) {
		perror(o->out);
		pcap_close(pc);
		goto fail_open;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		replay_one(&x, h, data, ++n);
	if (rc == PCAP_ERROR)
		fprintf(stderr, "cordon-dp: %s: packet %lu: %s\n", o->in, n + 1,
		    pcap_geterr(pc));
	pcap_close(pc);
	frag_table_free(x.frag);
	prx_flow_free(x.prx);
	out = x.out;
	if (out != stdout && fclose(out) != 0) {
		perror(o->out);
		return -1;
	}
	fflush(stdout);
	return rc == PCAP_ERROR ? -1 : 0;
fail_open:
	prx_flow_free(x.prx);
fail_prx:
	frag_table_free(x.frag);
	return -1;
}
