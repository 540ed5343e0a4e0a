/*
 * Benchmark support: preloads packet contents into a pool (see dp.h).
 * Runs once at start-up, before any port starts; never on the fast path.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dataplane/dp/dp.h"

struct dp_frame {
	uint16_t len;
	uint8_t data[RTE_MBUF_DEFAULT_DATAROOM];
};

static struct dp_frame *
dp_fill_read(const char *path, unsigned *n)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct dp_frame *f = NULL, *nf;
	unsigned cap = 0;
	pcap_t *pc;

	*n = 0;
	if ((pc = pcap_open_offline(path, errbuf)) == NULL) {
		fprintf(stderr, "cordon-dp: %s: %s\n", path, errbuf);
		return NULL;
	}
	while (pcap_next_ex(pc, &h, &d) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((nf = realloc(f, cap * sizeof(*f))) == NULL)
				break;
			f = nf;
		}
		f[*n].len = (uint16_t)(h->caplen < sizeof(f->data)
		                           ? h->caplen
		                           : sizeof(f->data));
		memcpy(f[*n].data, d, f[*n].len);
		(*n)++;
	}
	pcap_close(pc);
	if (*n == 0) {
		fprintf(stderr, "cordon-dp: %s: no frames\n", path);
		free(f);
		return NULL;
	}
	return f;
}

int
dp_pool_fill(struct rte_mempool *mp, const char *path)
{
	unsigned n, total = 0, cap = mp->size;
	struct dp_frame *f = dp_fill_read(path, &n);
	struct rte_mbuf **all = calloc(cap, sizeof(*all));
	int rc = -1;

	if (f == NULL || all == NULL)
		goto out;
	/* Take every mbuf, write frame i % n into it, give them all back. */
	while (total < cap && (all[total] = rte_pktmbuf_alloc(mp)) != NULL) {
		struct rte_mbuf *m = all[total];
		const struct dp_frame *fr = &f[total % n];

		memcpy(rte_pktmbuf_mtod(m, uint8_t *), fr->data, fr->len);
		m->data_len = fr->len;
		m->pkt_len = fr->len;
		total++;
	}
	for (unsigned i = 0; i < total; i++)
		rte_pktmbuf_free(all[i]);
	printf("cordon-dp: bench: %u frames of %s written into %u mbufs\n", n,
	    path, total);
	rc = 0;
out:
	free(all);
	free(f);
	return rc;
}
