/*
 * Country codes and the table object as a whole.  The per-family tables
 * live in geo_v4.c and geo_v6.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/geo/geo.h"
#include "core/geo/geo_impl.h"

/*
 * ISO 3166-1 alpha-2, the officially assigned codes (249), plus XK: bit
 * (c1 - 'A') of row (c0 - 'A') is set when "c0c1" names a country.  Kept
 * as data so that a check is two loads, not a search.  Source: the ISO
 * 3166 Maintenance Agency's list (tzdata's iso3166.tab holds the same).
 */
#define L(c)             (1u << ((c) - 'A'))
#define ISO_ROW(c, bits) [(c) - 'A'] = (bits)
static const uint32_t geo_iso[26] = {
	ISO_ROW('A', L('D') | L('E') | L('F') | L('G') | L('I') | L('L') |
	                 L('M') | L('O') | L('Q') | L('R') | L('S') | L('T') |
	                 L('U') | L('W') | L('X') | L('Z')),
	ISO_ROW('B', L('A') | L('B') | L('D') | L('E') | L('F') | L('G') |
	                 L('H') | L('I') | L('J') | L('L') | L('M') | L('N') |
	                 L('O') | L('Q') | L('R') | L('S') | L('T') | L('V') |
	                 L('W') | L('Y') | L('Z')),
	ISO_ROW('C', L('A') | L('C') | L('D') | L('F') | L('G') | L('H') |
	                 L('I') | L('K') | L('L') | L('M') | L('N') | L('O') |
	                 L('R') | L('U') | L('V') | L('W') | L('X') | L('Y') |
	                 L('Z')),
	ISO_ROW('D', L('E') | L('J') | L('K') | L('M') | L('O') | L('Z')),
	ISO_ROW('E',
	    L('C') | L('E') | L('G') | L('H') | L('R') | L('S') | L('T')),
	ISO_ROW('F', L('I') | L('J') | L('K') | L('M') | L('O') | L('R')),
	ISO_ROW('G', L('A') | L('B') | L('D') | L('E') | L('F') | L('G') |
	                 L('H') | L('I') | L('L') | L('M') | L('N') | L('P') |
	                 L('Q') | L('R') | L('S') | L('T') | L('U') | L('W') |
	                 L('Y')),
	ISO_ROW('H', L('K') | L('M') | L('N') | L('R') | L('T') | L('U')),
	ISO_ROW('I', L('D') | L('E') | L('L') | L('M') | L('N') | L('O') |
	                 L('Q') | L('R') | L('S') | L('T')),
	ISO_ROW('J', L('E') | L('M') | L('O') | L('P')),
	ISO_ROW('K', L('E') | L('G') | L('H') | L('I') | L('M') | L('N') |
	                 L('P') | L('R') | L('W') | L('Y') | L('Z')),
	ISO_ROW('L', L('A') | L('B') | L('C') | L('I') | L('K') | L('R') |
	                 L('S') | L('T') | L('U') | L('V') | L('Y')),
	ISO_ROW('M', L('A') | L('C') | L('D') | L('E') | L('F') | L('G') |
	                 L('H') | L('K') | L('L') | L('M') | L('N') | L('O') |
	                 L('P') | L('Q') | L('R') | L('S') | L('T') | L('U') |
	                 L('V') | L('W') | L('X') | L('Y') | L('Z')),
	ISO_ROW('N', L('A') | L('C') | L('E') | L('F') | L('G') | L('I') |
	                 L('L') | L('O') | L('P') | L('R') | L('U') | L('Z')),
	ISO_ROW('O', L('M')),
	ISO_ROW('P', L('A') | L('E') | L('F') | L('G') | L('H') | L('K') |
	                 L('L') | L('M') | L('N') | L('R') | L('S') | L('T') |
	                 L('W') | L('Y')),
	ISO_ROW('Q', L('A')),
	ISO_ROW('R', L('E') | L('O') | L('S') | L('U') | L('W')),
	ISO_ROW('S', L('A') | L('B') | L('C') | L('D') | L('E') | L('G') |
	                 L('H') | L('I') | L('J') | L('K') | L('L') | L('M') |
	                 L('N') | L('O') | L('R') | L('S') | L('T') | L('V') |
	                 L('X') | L('Y') | L('Z')),
	ISO_ROW('T', L('C') | L('D') | L('F') | L('G') | L('H') | L('J') |
	                 L('K') | L('L') | L('M') | L('N') | L('O') | L('R') |
	                 L('T') | L('V') | L('W') | L('Z')),
	ISO_ROW('U', L('A') | L('G') | L('M') | L('S') | L('Y') | L('Z')),
	ISO_ROW('V',
	    L('A') | L('C') | L('E') | L('G') | L('I') | L('N') | L('U')),
	ISO_ROW('W', L('F') | L('S')),
	ISO_ROW('X', L('K')),
	ISO_ROW('Y', L('E') | L('T')),
	ISO_ROW('Z', L('A') | L('M') | L('W')),
};
#undef ISO_ROW
#undef L

static const char *const geo_special_names[GEO_CC_MAX - GEO_CC_SPECIAL] = {
	[GEO_SP_PRIVATE - GEO_CC_SPECIAL] = "private",
	[GEO_SP_SHARED - GEO_CC_SPECIAL] = "shared",
	[GEO_SP_LOOPBACK - GEO_CC_SPECIAL] = "loopback",
	[GEO_SP_LINK_LOCAL - GEO_CC_SPECIAL] = "link-local",
	[GEO_SP_DOCUMENTATION - GEO_CC_SPECIAL] = "documentation",
	[GEO_SP_BENCHMARKING - GEO_CC_SPECIAL] = "benchmarking",
	[GEO_SP_ULA - GEO_CC_SPECIAL] = "ula",
	[GEO_SP_MULTICAST - GEO_CC_SPECIAL] = "multicast",
	[GEO_SP_PROTOCOL - GEO_CC_SPECIAL] = "protocol",
	[GEO_SP_RESERVED - GEO_CC_SPECIAL] = "reserved",
};

static int
geo_cc_letter(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	return -1;
}

int
geo_cc_pair(const char *s)
{
	int hi, lo;

	if (s == NULL || s[0] == '\0' || s[1] == '\0' || s[2] != '\0')
		return -1;
	hi = geo_cc_letter(s[0]);
	lo = geo_cc_letter(s[1]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi * 26 + lo + 1;
}

int
geo_cc_parse(const char *s)
{
	int cc = geo_cc_pair(s);

	if (cc < 0 || !(geo_iso[(cc - 1) / 26] >> ((cc - 1) % 26) & 1))
		return -1;
	return cc;
}

int
geo_special_parse(const char *s)
{
	for (unsigned i = 0; s != NULL && i < GEO_CC_MAX - GEO_CC_SPECIAL; i++)
		if (strcmp(s, geo_special_names[i]) == 0)
			return (int)(GEO_CC_SPECIAL + i);
	return -1;
}

void
geo_cc_format(geo_cc_t cc, char out[GEO_CC_STRLEN])
{
	if (geo_cc_is_special(cc)) {
		snprintf(out, GEO_CC_STRLEN, "%s",
		    geo_special_names[cc - GEO_CC_SPECIAL]);
		return;
	}
	if (cc == GEO_CC_UNKNOWN || cc > GEO_CC_PAIRS) {
		memcpy(out, "--", 3);
		return;
	}
	out[0] = (char)('A' + (cc - 1) / 26);
	out[1] = (char)('A' + (cc - 1) % 26);
	out[2] = '\0';
}

const char *
geo_cc_name(geo_cc_t cc, char buf[GEO_CC_STRLEN])
{
	if (cc == GEO_CC_UNKNOWN)
		return "unknown";
	geo_cc_format(cc, buf);
	return buf;
}

#define GEO_HUGE (2u << 20)

void *
geo_mem_alloc(size_t bytes)
{
	size_t len = (bytes + GEO_HUGE - 1) & ~(size_t)(GEO_HUGE - 1);
	void *p;

	if (bytes < GEO_HUGE)
		return malloc(bytes ? bytes : 1);
	if (posix_memalign(&p, GEO_HUGE, len) != 0)
		return NULL;
	/* Advice only: without THP this is ordinary memory. */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

struct geo_tables *
geo_tables_create(void)
{
	struct geo_tables *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->serial = geo_tables_serial_next();
	if (geo_v4_init(t) == -1)
		goto free_t;
	if (geo_v6_init(t) == -1)
		goto fini_v4;
	if (geo_lab_init(t) == -1)
		goto fini_v6;
	return t;

fini_v6:
	geo_v6_fini(t);
fini_v4:
	geo_v4_fini(t);
free_t:
	free(t);
	errno = ENOMEM;
	return NULL;
}

void
geo_tables_free(struct geo_tables *t)
{
	if (t == NULL)
		return;
	if (!t->borrowed) {
		geo_v4_fini(t);
		geo_v6_fini(t);
		geo_lab_fini(t);
	}
	free(t->blob);
	free(t);
}

int
geo_tables_compact(struct geo_tables *t)
{
	if (geo_v6_compact(t) == -1)
		return -1;
	return geo_v4_compact(t);
}

uint64_t
geo_tables_serial_next(void)
{
	static uint64_t last;

	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

uint64_t
geo_tables_serial(const struct geo_tables *t)
{
	return t->serial;
}

void
geo_tables_mem(const struct geo_tables *t, struct geo_mem *m)
{
	m->v4_bytes = (size_t)GEO_TBL24_SIZE * sizeof(t->tbl24[0]) +
	              (size_t)t->tbl8_cap * 256 * sizeof(t->tbl8[0]);
	m->v6_bytes = (size_t)GEO6_ROOT_SIZE * sizeof(t->root6[0]) +
	              (size_t)t->node6_cap * 256 * sizeof(t->node6[0]);
	m->v4_tbl8_groups = t->tbl8_live;
	m->v6_nodes = t->node6_live;
}
