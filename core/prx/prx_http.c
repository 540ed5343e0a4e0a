/*
 * HTTP Forwarded (RFC 7239) and X-Forwarded-For in the header block of
 * a flow's first request, read only within a window.  Every hop is
 * reported, so that any hop in a denied region can deny; a value that
 * is not an address (obfuscated, `unknown`, junk) is the unknown hop.
 */
#include <string.h>

#include "core/prx/prx.h"
#include "core/prx/prx_int.h"

/* A cursor over one field value. */
struct prx_cur {
	const char *s;
	uint32_t len, off;
};

static int
prx_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Appends A to O.  Past PRX_HOPS_MAX the rightmost hops are kept (the
 * walk for the origin starts there) and those pushed out on the left
 * become one unknown hop in front: they still deny.
 */
static void
prx_hop_add(struct prx_out *o, const struct prx_addr *a)
{
	if (o->n < PRX_HOPS_MAX) {
		o->hop[o->n++] = *a;
		return;
	}
	o->over = 1;
	memmove(&o->hop[1], &o->hop[2], (PRX_HOPS_MAX - 2) * sizeof(o->hop[0]));
	memset(&o->hop[0], 0, sizeof(o->hop[0]));
	o->hop[PRX_HOPS_MAX - 1] = *a;
}

static int
prx_addr_ip(const char *s, uint32_t len, uint8_t af, struct prx_addr *a)
{
	if (prx_ip_pton(s, len, af, a->a) < 0)
		return -1;
	a->af = af;
	return 0;
}

/* ":PORT" (or nothing) at S: 0 and A's port, or -1. */
static int
prx_addr_port(const char *s, uint32_t len, struct prx_addr *a)
{
	if (len == 0)
		return 0;
	if (s[0] != ':')
		return -1;
	return prx_port_num(s + 1, len - 1, 0, &a->port);
}

static int
prx_addr_try(const char *s, uint32_t len, struct prx_addr *a)
{
	const char *c;
	uint32_t n;

	if (len > 0 && s[0] == '[') {
		c = memchr(s, ']', len);
		if (c == NULL)
			return -1;
		n = (uint32_t)(c - s);
		return prx_addr_ip(s + 1, n - 1, 6, a) < 0 ||
		               prx_addr_port(c + 1, len - n - 1, a) < 0
		           ? -1
		           : 0;
	}
	c = memchr(s, ':', len);
	if (c == NULL)
		return prx_addr_ip(s, len, 4, a);
	/* One colon after a dotted quad is a port; more is IPv6. */
	if (memchr(c + 1, ':', len - (uint32_t)(c - s) - 1) == NULL) {
		n = (uint32_t)(c - s);
		return prx_addr_ip(s, n, 4, a) < 0 ||
		               prx_addr_port(c, len - n, a) < 0
		           ? -1
		           : 0;
	}
	return prx_addr_ip(s, len, 6, a);
}

void
prx_addr_parse(const char *s, uint32_t len, struct prx_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (prx_addr_try(s, len, a) < 0)
		memset(a, 0, sizeof(*a));
}

/* Trims optional whitespace from both ends of [*S, *S + *LEN). */
static void
prx_trim(const char **s, uint32_t *len)
{
	while (*len > 0 && prx_ows((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && prx_ows((*s)[*len - 1]))
		(*len)--;
}

/* X-Forwarded-For: addresses separated by commas. */
static void
prx_xff_value(const char *s, uint32_t len, struct prx_out *o)
{
	struct prx_addr a;
	const char *e;
	uint32_t n;

	for (;;) {
		e = memchr(s, ',', len);
		n = e ? (uint32_t)(e - s) : len;
		const char *v = s;
		uint32_t vl = n;

		prx_trim(&v, &vl);
		prx_addr_parse(v, vl, &a);
		prx_hop_add(o, &a);
		if (e == NULL)
			return;
		s += n + 1;
		len -= n + 1;
	}
}

/*
 * The end of one Forwarded pair value at C: a token, or a quoted string
 * (backslash escapes kept: an escaped address is no address).  -1: an
 * unterminated quote.
 */
static int
prx_fwd_value_end(struct prx_cur *c)
{
	if (c->off < c->len && c->s[c->off] == '"') {
		for (c->off++; c->off < c->len; c->off++) {
			if (c->s[c->off] == '\\')
				c->off++;
			else if (c->s[c->off] == '"')
				break;
		}
		if (c->off >= c->len)
			return -1;
		c->off++;
		return 0;
	}
	while (c->off < c->len && c->s[c->off] != ';' && c->s[c->off] != ',' &&
	       !prx_ows(c->s[c->off]))
		c->off++;
	return 0;
}

/* A for= value (quotes removed when both are there) into A. */
static void
prx_fwd_for(const char *v, uint32_t vl, struct prx_addr *a)
{
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
		v++;
		vl -= 2;
	}
	prx_addr_parse(v, vl, a);
}

/*
 * One Forwarded element (pairs up to a comma) at C: its for= hop, the
 * unknown one when it has none, two, or does not parse.  1 when a comma
 * follows, 0 at the end, -1 when the rest cannot be split.
 */
static int
prx_fwd_element(struct prx_cur *c, struct prx_out *o)
{
	struct prx_addr a;
	unsigned nfor = 0, bad = 0;
	uint32_t k, v;

	memset(&a, 0, sizeof(a));
	for (;;) {
		while (c->off < c->len && prx_ows(c->s[c->off]))
			c->off++;
		k = c->off;
		while (c->off < c->len && c->s[c->off] != '=' &&
		       c->s[c->off] != ';' && c->s[c->off] != ',')
			c->off++;
		if (c->off < c->len && c->s[c->off] == '=') {
			v = ++c->off;
			if (prx_fwd_value_end(c) < 0)
				return -1;
			if (v - 1 - k == 3 &&
			    strncasecmp(c->s + k, "for", 3) == 0) {
				nfor++;
				prx_fwd_for(c->s + v, c->off - v, &a);
			}
		} else if (c->off > k) {
			bad = 1;
		}
		while (c->off < c->len && prx_ows(c->s[c->off]))
			c->off++;
		if (c->off < c->len && c->s[c->off] == ';') {
			c->off++;
			continue;
		}
		break;
	}
	if (nfor != 1 || bad)
		memset(&a, 0, sizeof(a));
	prx_hop_add(o, &a);
	if (c->off >= c->len)
		return 0;
	if (c->s[c->off] != ',')
		return -1;
	c->off++;
	return 1;
}

/* Forwarded: elements separated by commas; a tail that cannot be split
 * is one unknown hop. */
static void
prx_fwd_value(const char *s, uint32_t len, struct prx_out *o)
{
	struct prx_cur c = { s, len, 0 };
	struct prx_addr u;
	int r;

	while ((r = prx_fwd_element(&c, o)) == 1)
		;
	if (r < 0) {
		memset(&u, 0, sizeof(u));
		prx_hop_add(o, &u);
	}
}

/* Is the header line L (LEN bytes) field NAME?  Its value into V, VL. */
static int
prx_field(const char *l, uint32_t len, const char *name, const char **v,
    uint32_t *vl)
{
	uint32_t n = (uint32_t)strlen(name);

	if (len <= n || l[n] != ':' || strncasecmp(l, name, n) != 0)
		return 0;
	*v = l + n + 1;
	*vl = len - n - 1;
	prx_trim(v, vl);
	return 1;
}

/* A request line: a method token, a space, something, " HTTP/". */
static int
prx_request_line(const char *l, uint32_t len)
{
	uint32_t i = 0;

	while (i < len && l[i] >= 'A' && l[i] <= 'Z')
		i++;
	if (i == 0 || i >= len || l[i] != ' ')
		return 0;
	return len > 9 && memcmp(l + len - 9, " HTTP/1.", 8) == 0;
}

/* The end of the header block: the offset past CRLF CRLF, or 0. */
static uint32_t
prx_http_end(const uint8_t *buf, uint32_t len)
{
	for (uint32_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' &&
		    buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return i + 4;
	return 0;
}

int
prx_http_parse(const uint8_t *buf, uint32_t len, uint32_t window, unsigned mode,
    struct prx_out *o)
{
	const char *s = (const char *)buf, *v, *e;
	const char *name = mode == PRX_MODE_XFF ? "x-forwarded-for"
	                                        : "forwarded";
	uint32_t end, off, n, vl;

	memset(o, 0, sizeof(*o) - sizeof(o->hop));
	if (len > window)
		len = window;
	if ((end = prx_http_end(buf, len)) == 0)
		return len < window ? PRX_MORE : PRX_LONG;
	e = memchr(s, '\r', end);
	if (!prx_request_line(s, (uint32_t)(e - s)) ||
	    memchr(s, '\n', (size_t)(e - s)) != NULL)
		return PRX_BAD;
	for (off = (uint32_t)(e - s) + 2; off + 2 < end; off += n + 2) {
		e = memchr(s + off, '\r', end - off);
		n = (uint32_t)(e - s) - off;
		/* A bare LF or CR inside the block is a smuggling attempt. */
		if (s[off + n + 1] != '\n' || memchr(s + off, '\n', n))
			return PRX_BAD;
		/* Obsolete line folding would hide a continuation. */
		if (n > 0 && prx_ows(s[off]))
			return PRX_BAD;
		if (!prx_field(s + off, n, name, &v, &vl))
			continue;
		if (mode == PRX_MODE_XFF)
			prx_xff_value(v, vl, o);
		else
			prx_fwd_value(v, vl, o);
	}
	return PRX_DONE;
}

/* Does A's address begin with the LEN bits of P? */
static int
prx_prefix_has(const struct prx_prefix *p, const struct prx_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->af != a->af || memcmp(p->a, a->a, full) != 0)
		return 0;
	return rest == 0 ||
	       ((p->a[full] ^ a->a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
prx_trusted(const struct prx_trust *t, const struct prx_addr *a)
{
	if (a->af == 0)
		return 0;
	for (unsigned i = 0; i < t->n && i < PRX_TRUST_MAX; i++)
		if (prx_prefix_has(&t->p[i], a))
			return 1;
	return 0;
}

int
prx_origin(const struct prx_trust *t, const struct prx_out *o)
{
	int i;

	if (o->n == 0)
		return -1;
	for (i = o->n - 1; i > 0; i--)
		if (!prx_trusted(t, &o->hop[i]))
			return i;
	return 0;
}
