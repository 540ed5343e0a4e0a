/*
 * Top denied sources: every worker's sketch in the counters memfd is
 * read (core/top's sequence counts make each set a consistent copy),
 * keys of older revisions moved to the running position of the rule of
 * the same name (so a rule that kept its name across a commit keeps one
 * row), merged by (source, revision, rule position, country), and the
 * positions named by the rules of the revision that decided.
 */
#define _GNU_SOURCE /* qsort_r */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/daemon/cd_top.h"
#include "control/daemon/cordond.h"
#include "core/top/top.h"

/*
 * Revision 0 is cordon-dp's own start-up policy: the file of the
 * revision cordond started it with (dp_boot_rev; an adopted cordon-dp's
 * is the revision file on its command line, else unknown: #N@r0).
 *
 * Names of an older revision's rules, read from its file in the state
 * folder: positions are the file's rule order (pol_compile).  One
 * revision is remembered, the last one asked.
 */
static struct {
	uint32_t rev;
	bool ok;
	struct conf *c;
} cd_top_old;

static unsigned long cd_top_reads;

unsigned long
cd_top_files_read(void)
{
	return cd_top_reads;
}

static const struct conf *
cd_top_conf(struct cd *d, uint32_t rev)
{
	char path[CONF_PATH_MAX + 32], err[256];

	if (cd_top_old.c && cd_top_old.rev == rev)
		return cd_top_old.ok ? cd_top_old.c : NULL;
	if (cd_top_old.c == NULL &&
	    (cd_top_old.c = malloc(sizeof(*cd_top_old.c))) == NULL)
		return NULL;
	cd_top_old.rev = rev;
	cd_top_reads++;
	cd_top_old.ok = store_rev_path(d->store, rev, path, sizeof(path)) ==
	                    0 &&
	                conf_load(path, cd_top_old.c, err, sizeof(err)) == 0;
	return cd_top_old.ok ? cd_top_old.c : NULL;
}

static void
cd_top_name(struct cd *d, const struct top_key *k, char *out, size_t len)
{
	const struct policy *p = d->run.pol;
	const struct conf *c;

	uint32_t rev = k->revision ? k->revision : (uint32_t)d->dp_boot_rev;

	if (k->rule == POL_RULE_DEFAULT) {
		snprintf(out, len, "(default)");
	} else if ((uint32_t)d->run.rev == rev && p && k->rule < p->nrules) {
		snprintf(out, len, "%s", p->rule[k->rule].name);
	} else if (rev && (c = cd_top_conf(d, rev)) != NULL &&
	           k->rule < c->nrules) {
		snprintf(out, len, "%s", c->rules[k->rule].name);
	} else {
		snprintf(out, len, "#%u@r%u", k->rule + 1u, rev);
	}
}

static void
cd_top_row_fill(struct cd *d, const struct top_entry *e, struct cd_top_row *r)
{
	memset(r, 0, sizeof(*r));
	r->af = e->k.af;
	memcpy(r->addr, e->k.src, sizeof(r->addr));
	r->cc = e->k.cc;
	r->packets = e->count;
	r->err = e->err;
	cd_top_name(d, &e->k, r->rule, sizeof(r->rule));
	inet_ntop(r->af == 4 ? AF_INET : AF_INET6, r->addr, r->src,
	    sizeof(r->src));
}

/*
 * K as the running policy would key it: a rule that runs under the same
 * name takes its running position, so that its counts from before a
 * commit and after it merge into one row.
 */
static void
cd_top_rekey(struct cd *d, struct top_key *k)
{
	const struct policy *p = d->run.pol;
	char name[POL_NAME_MAX + 16];

	if (k->revision == (uint32_t)d->run.rev || p == NULL)
		return;
	if (k->rule == POL_RULE_DEFAULT) {
		k->revision = (uint32_t)d->run.rev;
		return;
	}
	cd_top_name(d, k, name, sizeof(name));
	for (unsigned r = 0; r < p->nrules; r++)
		if (strcmp(p->rule[r].name, name) == 0) {
			k->revision = (uint32_t)d->run.rev;
			k->rule = (uint16_t)r;
			return;
		}
}

/* The revision K was counted under, as cd_top_name() reads it. */
static uint32_t
cd_top_rev(const struct cd *d, const struct top_key *k)
{
	return k->revision ? k->revision : (uint32_t)d->dp_boot_rev;
}

static int
cd_top_cmp_rev(const void *a, const void *b, void *arg)
{
	uint32_t x = cd_top_rev(arg, &((const struct top_entry *)a)->k);
	uint32_t y = cd_top_rev(arg, &((const struct top_entry *)b)->k);

	return x < y ? -1 : x > y;
}

struct cd_top_order {
	const struct cd *d;
	const struct top_entry *v;
};

static int
cd_top_cmp_at(const void *a, const void *b, void *arg)
{
	const struct cd_top_order *o = arg;

	return cd_top_cmp_rev(&o->v[*(const size_t *)a],
	    &o->v[*(const size_t *)b], (void *)o->d);
}

/* Rows by source, country and rule name. */
static int
cd_top_cmp_row(const void *a, const void *b)
{
	const struct cd_top_row *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (c == 0)
		c = x->af - y->af;
	if (c == 0)
		c = x->cc - y->cc;
	return c ? c : strcmp(x->rule, y->rule);
}

/* Rows by packets, most first; ties as cd_top_cmp_row. */
static int
cd_top_cmp_packets(const void *a, const void *b)
{
	const struct cd_top_row *x = a, *y = b;

	if (x->packets != y->packets)
		return x->packets < y->packets ? 1 : -1;
	return cd_top_cmp_row(a, b);
}

/*
 * Rows of one source, country and rule name folded into one: keys that
 * stayed apart because their rule runs no more (it has no running
 * position to move to) but was counted under two older revisions.
 */
static size_t
cd_top_fold(struct cd_top_row *r, size_t n)
{
	size_t m = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cd_top_cmp_row);
	for (size_t i = 1; i < n; i++) {
		if (cd_top_cmp_row(&r[m], &r[i]) == 0) {
			r[m].packets += r[i].packets;
			r[m].err += r[i].err;
		} else {
			r[++m] = r[i];
		}
	}
	qsort(r, ++m, sizeof(*r), cd_top_cmp_packets);
	return m;
}

/*
 * V's N entries into T's rows, named.  An older revision's names come
 * from its file, and one file is kept at a time: so the entries are
 * named revision by revision, never in the order the sketches or the
 * ranking give them, where revisions alternate and every entry would
 * read a file again (seconds of a blocked cordond for a sketch full of
 * sources counted across two commits).  IDX has room for N.
 */
void
cd_top_rank(struct cd *d, struct top_entry *v, size_t n, size_t *idx,
    struct cd_top *t)
{
	qsort_r(v, n, sizeof(*v), cd_top_cmp_rev, d);
	for (size_t i = 0; i < n; i++)
		cd_top_rekey(d, &v[i].k);
	t->n = top_merge(v, n);
	for (size_t i = 0; i < t->n; i++)
		idx[i] = i;
	qsort_r(idx, t->n, sizeof(*idx), cd_top_cmp_at,
	    &(struct cd_top_order){ d, v });
	for (size_t i = 0; i < t->n; i++)
		cd_top_row_fill(d, &v[idx[i]], &t->row[idx[i]]);
	t->n = cd_top_fold(t->row, t->n);
}

struct cd_top *
cd_top_get(struct cd *d, struct cd_err *e)
{
	const struct top_sketch *s;
	struct top_entry *v;
	struct cd_top *t;
	size_t n = 0, *idx;
	unsigned nw;
	int64_t now = clk_boot_s();

	/* Not through cd_dp.c: SNMP reads this, and cd_dp.c reaches SNMP. */
	if (d->run.conf->backend != CONF_BACKEND_DPDK) {
		cd_fail(e, "backend", "top denied sources need backend dpdk");
		return NULL;
	}
	if (d->dp_state != CD_DP_UP || d->dpc == NULL ||
	    (s = dpc_top(d->dpc, &nw)) == NULL || nw == 0) {
		cd_fail(e, "dataplane", "cordon-dp is not up");
		return NULL;
	}
	v = malloc((size_t)nw * TOP_ENTRIES_MAX * sizeof(*v));
	idx = malloc((size_t)nw * TOP_ENTRIES_MAX * sizeof(*idx));
	t = malloc(
	    sizeof(*t) + (size_t)nw * TOP_ENTRIES_MAX * sizeof(t->row[0]));
	if (v == NULL || idx == NULL || t == NULL) {
		free(v);
		free(idx);
		free(t);
		cd_fail(e, "internal", "out of memory");
		return NULL;
	}
	t->total = 0;
	t->window_s = s[0].epoch_s * TOP_EPOCHS;
	for (unsigned w = 0; w < nw; w++)
		n += top_collect(&s[w], now, v + n,
		    (size_t)nw * TOP_ENTRIES_MAX - n, &t->total);
	cd_top_rank(d, v, n, idx, t);
	free(v);
	free(idx);
	return t;
}

static bool
cd_top_match(const struct cd_top_row *r, const char *rule, int cc)
{
	return (rule == NULL || strcmp(r->rule, rule) == 0) &&
	       (cc < 0 || r->cc == cc);
}

/* A country as show top prints it: a code, a sub-region or unknown. */
static int
cd_top_cc(const char *s)
{
	int cc = geo_cc_parse(s);

	if (cc < 0)
		cc = geo_special_parse(s);
	if (cc < 0 && strcasecmp(s, "unknown") == 0)
		cc = GEO_CC_UNKNOWN;
	return cc;
}

static json_t *
cd_top_json_row(const struct cd_top_row *r)
{
	char cc[GEO_CC_STRLEN];

	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "source", r->src,
	    "country", geo_cc_name(r->cc, cc), "rule", r->rule, "packets",
	    (json_int_t)r->packets, "error", (json_int_t)r->err);
}

/* Arguments: rule NAME, country CC (either or both), limit N. */
int
cd_cmd_top(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *rule = json_string_value(json_object_get(rq->args, "rule"));
	const char *ccs =
	    json_string_value(json_object_get(rq->args, "country"));
	json_t *lim = json_object_get(rq->args, "limit"), *a, *o;
	json_int_t limit = lim ? json_integer_value(lim) : CD_TOP_EXPORT;
	int cc = ccs ? cd_top_cc(ccs) : -1;
	struct cd_top *t;

	if (ccs && cc < 0)
		return cd_fail(e, "bad-request",
		    "top: \"%s\" is not a country code", ccs);
	if (lim && (!json_is_integer(lim) || limit < 1 || limit > 100000))
		return cd_fail(e, "bad-request",
		    "top: \"limit\" must be 1..100000");
	if ((t = cd_top_get(d, e)) == NULL)
		return -1;
	a = json_array();
	for (size_t i = 0; i < t->n && json_array_size(a) < (size_t)limit; i++)
		if (cd_top_match(&t->row[i], rule, cc))
			json_array_append_new(a, cd_top_json_row(&t->row[i]));
	o = cd_obj();
	json_object_set_new(o, "window", json_integer(t->window_s));
	json_object_set_new(o, "denied", json_integer((json_int_t)t->total));
	json_object_set_new(o, "top", a);
	free(t);
	*data = o;
	return 0;
}
