/*
 * libFuzzer harness for the packet parser and, on frames it accepts,
 * the reject builder.  The input is copied to a buffer of exactly its
 * size so that ASan flags a read one byte past the frame, and the reply
 * goes to a buffer whose size the last input byte chooses, so the "does
 * it fit" checks are exercised as much as the parsing ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frag/frag.h"
#include "core/pkt/pkt_parse.h"
#include "core/pkt/pkt_reject.h"
#include "core/stats/reasons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_pkt_check(const uint8_t *in, uint32_t len, const struct pkt_meta *m)
{
	uint8_t knob = in[len - 1];
	uint32_t outmax = knob < 128 ? PKT_REJECT_MAX : (knob - 128u) * 10 + 1;
	uint8_t *out = malloc(outmax);
	struct pkt_meta rm;
	int n;

	if (out == NULL)
		abort();
	n = pkt_reject_build(in, len, m, out, outmax);
	if (n > (int)outmax)
		abort();
	/* Whatever we send must itself be a frame we would accept. */
	if (n > 0 && pkt_parse(out, (uint32_t)n, &rm) != CDN_R_NONE)
		abort();
	free(out);
}

/*
 * The parser's promises, re-checked from the bytes: the IP packet lies
 * within the frame and a validated L4 header within the IP packet.
 */
static void
fuzz_pkt_meta_check(const uint8_t *in, uint32_t len, const struct pkt_meta *m)
{
	uint32_t end = (uint32_t)m->l3_off + m->l3_len, need;

	if (end > len || (m->af != 4 && m->af != 6))
		abort();
	/* Tunnels: at most the default depth, each layer named. */
	if (m->nlayer > pkt_tun_default.depth + 1)
		abort();
	for (unsigned j = 0; j < m->nlayer; j++)
		if (m->layer[j].kind >= PKT_TUN_MAX ||
		    (m->layer[j].af != 4 && m->layer[j].af != 6))
			abort();
	/* The outermost layer is the packet's own header: its destination
	 * is what dst judges, and dst_via with it. */
	if (m->nlayer &&
	    (m->layer[0].af != m->af ||
	        (m->af == 4 ? m->layer_dst[0].dst4 != m->dst4
	                    : memcmp(m->layer_dst[0].dst6, m->dst6, 16) != 0)))
		abort();
	if (!m->has_l4)
		return;
	if (m->l4proto == 6)
		need = (uint32_t)(in[m->l4_off + 12] >> 4) * 4;
	else if (m->l4proto == 17 && m->frag == PKT_FRAG_FIRST)
		need = 8; /* its length is the whole datagram's */
	else if (m->l4proto == 17)
		need = (uint32_t)in[m->l4_off + 4] << 8 | in[m->l4_off + 5];
	else
		need = 4;
	if (need < 4 || m->l4_off + need > end)
		abort();
}

/*
 * A fragment's place lies within its IP packet, and the fragment table
 * takes it: after a first fragment of the same datagram (synthesised,
 * with this one's length), this one is followed or refused, never
 * anything else.  The table is emptied for every input.
 */
static void
fuzz_pkt_frag(const struct pkt_meta *m)
{
	static struct frag_table *t;
	static struct stats st;
	struct cls_verdict v = { .action = CDN_ACT_ALLOW };
	struct pkt_meta first = *m;

	if (m->frag == PKT_FRAG_NONE)
		return;
	if (m->frag_len > m->l3_len ||
	    (m->frag == PKT_FRAG_FIRST) != (m->frag_off == 0) ||
	    (m->frag == PKT_FRAG_FIRST && !m->frag_more))
		abort();
	if (t == NULL && (t = frag_table_new(FRAG_WAYS, 100, 1)) == NULL)
		abort();
	frag_table_clear(t);
	first.frag = PKT_FRAG_FIRST;
	first.frag_off = 0;
	first.frag_more = 1;
	frag_track(t, &first, 1, &v, &st);
	if (v.action != CDN_ACT_ALLOW)
		abort();
	frag_track(t, m, 2, &v, &st);
	if (v.action != CDN_ACT_ALLOW && v.action != CDN_ACT_DROP)
		abort();
	if ((v.action == CDN_ACT_ALLOW) != (v.reason == CDN_R_NONE))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_meta m;
	uint8_t *buf;
	int rc;

	if (size > 65535 + 64)
		return 0;
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	rc = pkt_parse(buf, (uint32_t)size, &m);
	if (rc < 0 || rc > CDN_R_FIRST_POLICY)
		abort();
	if (rc == CDN_R_NONE) {
		fuzz_pkt_meta_check(buf, (uint32_t)size, &m);
		fuzz_pkt_check(buf, (uint32_t)size, &m);
		fuzz_pkt_frag(&m);
	}
	free(buf);
	return 0;
}
