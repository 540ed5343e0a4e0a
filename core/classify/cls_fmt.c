#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/classify/cls_fmt.h"
#include "core/stats/reasons.h"

void
cls_addr_format(const struct pkt_meta *m, int dst, char *buf, size_t len)
{
	uint32_t a4;

	if (m->af == 4) {
		a4 = htonl(dst ? m->dst4 : m->src4);
		inet_ntop(AF_INET, &a4, buf, (socklen_t)len);
	} else if (m->af == 6) {
		inet_ntop(AF_INET6, dst ? m->dst6 : m->src6, buf,
		    (socklen_t)len);
	} else {
		snprintf(buf, len, "-");
	}
}

const char *
cls_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

static const char *
cls_rule_name(const struct policy *p, const struct cls_verdict *v)
{
	if (v->rule == POL_RULE_DEFAULT)
		return "(default)";
	return p->rule[v->rule].name;
}

static const char *
cls_service_name(const struct policy *p, const struct cls_verdict *v)
{
	if (v->service == POL_SVC_NONE || v->service >= p->nservices)
		return NULL;
	return p->service_name[v->service];
}

static const char *const cls_tun_class_names[POL_TUN_MAX] = { "none", "open",
	"opaque" };

/* Layer J's source address of M, as text. */
static void
cls_layer_format(const struct pkt_meta *m, unsigned j, int dst, char *buf,
    size_t len)
{
	const struct pkt_layer *l = &m->layer[j];
	uint32_t a = htonl(dst ? m->layer_dst[j].dst4 : l->src4);
	const uint8_t *a6 = dst ? m->layer_dst[j].dst6 : l->src6;

	inet_ntop(l->af == 4 ? AF_INET : AF_INET6,
	    l->af == 4 ? (const void *)&a : (const void *)a6, buf,
	    (socklen_t)len);
}

/*
 * ,"KEY":["tor",...]: the names of BITS (class names are plain,
 * conf_name_check); nothing when there are none or no names.
 */
static void
cls_json_classes(FILE *f, const char *key, const struct geo_classes *c,
    geo_cls_t bits)
{
	unsigned n = 0;

	if (c == NULL || bits == 0)
		return;
	fprintf(f, ",\"%s\":[", key);
	for (unsigned k = 0; k < c->n && k < GEO_CLS_MAX; k++)
		if ((bits >> k) & 1)
			fprintf(f, "%s\"%.*s\"", n++ ? "," : "",
			    GEO_CLS_NAMELEN, c->name[k]);
	fprintf(f, "]");
}

/*
 * A tunnelled packet's layers, outermost first: each one's source, its
 * country and how it was carried; the origin is the last.
 */
static void
cls_json_layer_dst(FILE *f, const struct policy *p, const struct cls_record *r,
    unsigned j)
{
	char a[INET6_ADDRSTRLEN], cc[GEO_CC_STRLEN];

	/* A proxied flow's hops were reported with no destination. */
	if (r->m->proxied)
		return;
	cls_layer_format(r->m, j, 1, a, sizeof(a));
	fprintf(f, ",\"dst\":\"%s\"", a);
	if (r->layer_dcc && p->needs_dst_geo) {
		geo_cc_format(r->layer_dcc[j], cc);
		fprintf(f, ",\"dst_cc\":\"%s\"", cc);
	}
}

static void
cls_json_layers(FILE *f, const struct policy *p, const struct cls_record *r)
{
	const struct pkt_meta *m = r->m;
	char a[INET6_ADDRSTRLEN], cc[GEO_CC_STRLEN];

	fprintf(f, ",\"tunnel\":\"%s\"", cls_tun_class_names[cls_tun_class(m)]);
	if (m->nlayer == 0)
		return;
	geo_cc_format(r->v->origin_cc, cc);
	cls_layer_format(m, m->nlayer - 1u, 0, a, sizeof(a));
	fprintf(f, ",\"origin\":\"%s\",\"origin_cc\":\"%s\",\"layers\":[", a,
	    cc);
	for (unsigned j = 0; j < m->nlayer; j++) {
		cls_layer_format(m, j, 0, a, sizeof(a));
		fprintf(f, "%s{\"src\":\"%s\",\"via\":\"%s\"", j ? "," : "", a,
		    pkt_tun_name(m->layer[j].kind));
		if (r->layer_cc) {
			geo_cc_format(r->layer_cc[j], cc);
			fprintf(f, ",\"cc\":\"%s\"", cc);
		}
		if (r->layer_cls)
			cls_json_classes(f, "classes", r->cls, r->layer_cls[j]);
		cls_json_layer_dst(f, p, r, j);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

/* Fields every record has once the IP header was read. */

static void
cls_json_l3(FILE *f, const struct policy *p, const struct cls_record *r)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[8];
	char cc[GEO_CC_STRLEN];
	const struct pkt_meta *m = r->m;
	const char *svc = cls_service_name(p, r->v);

	cls_addr_format(m, 0, src, sizeof(src));
	cls_addr_format(m, 1, dst, sizeof(dst));
	fprintf(f, ",\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\"", src, dst,
	    cls_proto_name(m->l4proto, pb, sizeof(pb)));
	if (m->has_l4 && m->l4proto != IPPROTO_ICMP &&
	    m->l4proto != IPPROTO_ICMPV6)
		fprintf(f, ",\"sport\":%u,\"dport\":%u", m->sport, m->dport);
	else
		fprintf(f, ",\"sport\":null,\"dport\":null");
	if (svc)
		fprintf(f, ",\"service\":\"%s\"", svc);
	else
		fprintf(f, ",\"service\":null");
	geo_cc_format(r->v->src_cc, cc);
	fprintf(f, ",\"src_cc\":\"%s\"", cc);
	cls_json_classes(f, "src_classes", r->cls, r->v->src_cls);
	if (p->needs_dst_geo) {
		geo_cc_format(r->v->dst_cc, cc);
		fprintf(f, ",\"dst_cc\":\"%s\"", cc);
	}
	if (m->nlayer || m->opaque)
		cls_json_layers(f, p, r);
	if (m->frag != PKT_FRAG_NONE)
		fprintf(f, ",\"fragment\":\"%s\"",
		    m->frag == PKT_FRAG_FIRST ? "first" : "later");
	fprintf(f, ",\"rule\":\"%s\"", cls_rule_name(p, r->v));
}

void
cls_record_json(FILE *f, const struct policy *p, const struct cls_record *r)
{
	fprintf(f, "{\"n\":%lu", r->n);
	if (r->port)
		fprintf(f, ",\"port\":\"%s\"", r->port);
	if (r->parsed)
		cls_json_l3(f, p, r);
	else
		fprintf(f, ",\"src\":null,\"dst\":null,\"proto\":null,"
		           "\"sport\":null,\"dport\":null,\"service\":null,"
		           "\"src_cc\":null,\"rule\":null");
	fprintf(f, ",\"action\":\"%s\"", cdn_action_name(r->v->action));
	if (r->v->reason != CDN_R_NONE)
		fprintf(f, ",\"reason\":\"%s\"", cdn_reason_name(r->v->reason));
	if (r->proxy)
		fprintf(f, ",\"proxy\":\"%s\"", r->proxy);
	fprintf(f, "}\n");
}

void
cls_record_text(FILE *f, const struct policy *p, const struct cls_record *r)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[8];
	char cc[GEO_CC_STRLEN];
	const struct pkt_meta *m = r->m;
	const char *svc = cls_service_name(p, r->v);

	cls_addr_format(m, 0, src, sizeof(src));
	cls_addr_format(m, 1, dst, sizeof(dst));
	geo_cc_format(r->v->src_cc, cc);
	fprintf(f,
	    "%s rule=%s reason=%s port=%s proto=%s src=%s sport=%u "
	    "dst=%s dport=%u service=%s src_cc=%s\n",
	    cdn_action_name(r->v->action), cls_rule_name(p, r->v),
	    cdn_reason_name(r->v->reason), r->port ? r->port : "-",
	    cls_proto_name(m->l4proto, pb, sizeof(pb)), src, m->sport, dst,
	    m->dport, svc ? svc : "-", cc);
}

const char *
cls_miss_text(unsigned set, unsigned pc, int session)
{
	switch (set) {
	case CLS_SET_SRC:
		return "source country not in src";
	case CLS_SET_DST:
		return "destination country not in dst";
	case CLS_SET_DIR:
		return "direction differs";
	case CLS_SET_PROTO:
		return "protocol not in proto";
	case CLS_SET_PORT:
		return pc > POL_PROTO_UDP
		           ? "rule needs a TCP/UDP port"
		           : "destination port not in its services or ports";
	case CLS_SET_ORIGIN:
		return "innermost source's country and classes not in origin";
	case CLS_SET_VIA:
		return "no layer's source country or class in via";
	case CLS_SET_TUN:
		return "tunnel class differs";
	case CLS_SET_DST_VIA:
		return "no layer's destination country in dst_via";
	case CLS_SET_IDENT:
		return session ? "identity block: the session does not "
		                 "match it (see identity)"
		               : "identity block: the flow "
		                 "carries no session";
	default:
		return NULL;
	}
}
