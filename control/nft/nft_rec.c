/*
 * The record of what the kernel holds of our table (struct nft_rec):
 * written while a batch is built, trusted only while the ruleset's
 * generation is the one our last batch made.  A delta batch diffs the
 * new build against it: the region sets, which hold hundreds of
 * thousands of elements, then cost only their changed ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/nft/nft_int.h"

void
nft_rec_free(struct nft_rec *r)
{
	for (unsigned i = 0; i < r->ngeo; i++)
		nft_ivs_free(&r->geo[i].l);
	free(r->geo);
	free(r->sets);
	memset(r, 0, sizeof(*r));
}

const struct nft_rec_geo *
nft_rec_geo_find(const struct nft_rec *r, const char *n4)
{
	for (unsigned i = 0; i < r->ngeo; i++)
		if (strcmp(r->geo[i].n4, n4) == 0)
			return &r->geo[i];
	return NULL;
}

bool
nft_rec_has_set(const struct nft_rec *r, const char *name)
{
	for (unsigned i = 0; i < r->nsets; i++)
		if (strcmp(r->sets[i], name) == 0)
			return true;
	return false;
}

/* Room for one more of SIZE in *V (N used of *CAP).  0 or -1. */
static int
nft_rec_room(void **v, unsigned n, unsigned *cap, size_t size)
{
	unsigned c = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if ((p = realloc(*v, c * size)) == NULL)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

int
nft_rec_add_geo(struct nft_rec *r, const char *n4, const char *n6,
    const struct conf_ccset *s, struct nft_ivs *l)
{
	struct nft_rec_geo *e;

	if (nft_rec_room((void **)&r->geo, r->ngeo, &r->capgeo,
	        sizeof(*r->geo)) < 0)
		return -1;
	e = &r->geo[r->ngeo++];
	memset(e, 0, sizeof(*e));
	snprintf(e->n4, sizeof(e->n4), "%s", n4);
	snprintf(e->n6, sizeof(e->n6), "%s", n6);
	e->s = *s;
	e->l = *l;
	memset(l, 0, sizeof(*l));
	return 0;
}

int
nft_rec_add_set(struct nft_rec *r, const char *name)
{
	if (nft_rec_room((void **)&r->sets, r->nsets, &r->capsets,
	        sizeof(*r->sets)) < 0)
		return -1;
	snprintf(r->sets[r->nsets++], sizeof(r->sets[0]), "%s", name);
	return 0;
}

/*
 * Compiled tables are never changed in place, so the same serial means
 * the same tables.  Not the address and sizes: tables freed and built
 * again of the same shape come back at the same address with other
 * countries (a reload while cordon-dp is down frees the tables host
 * protection's record came from), and their ranges would be taken for
 * the new ones'.
 */
bool
nft_rec_same_geo(const struct nft_rec *r, const struct geo_tables *g)
{
	return g != NULL && r->gserial != 0 &&
	       r->gserial == geo_tables_serial(g);
}

void
nft_rec_set_geo(struct nft_rec *r, const struct geo_tables *g)
{
	r->gserial = g != NULL ? geo_tables_serial(g) : 0;
}

int
nft_ivs_copy(const struct nft_ivs *l, struct nft_ivs *out)
{
	memset(out, 0, sizeof(*out));
	if (l->n4 && (out->v4 = malloc(l->n4 * sizeof(*l->v4))) == NULL)
		return -1;
	if (l->n6 && (out->v6 = malloc(l->n6 * sizeof(*l->v6))) == NULL) {
		nft_ivs_free(out);
		return -1;
	}
	if (l->n4)
		memcpy(out->v4, l->v4, l->n4 * sizeof(*l->v4));
	if (l->n6)
		memcpy(out->v6, l->v6, l->n6 * sizeof(*l->v6));
	out->n4 = out->cap4 = l->n4;
	out->n6 = out->cap6 = l->n6;
	return 0;
}

/*
 * Both lists are ascending and merged, so a range of A that is not in B
 * is found by walking the two once; what remains of A is merged still
 * (a subset of merged ranges never touch).
 */
int
nft_ivs_minus(const struct nft_ivs *a, const struct nft_ivs *b,
    struct nft_ivs *out)
{
	size_t j = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < a->n4; i++) {
		while (j < b->n4 && b->v4[j].lo < a->v4[i].lo)
			j++;
		if (j < b->n4 && b->v4[j].lo == a->v4[i].lo &&
		    b->v4[j].hi == a->v4[i].hi)
			continue;
		if (nft_iv4_add(out, a->v4[i].lo, a->v4[i].hi) < 0)
			goto oom;
	}
	j = 0;
	for (size_t i = 0; i < a->n6; i++) {
		while (j < b->n6 && b->v6[j].lo < a->v6[i].lo)
			j++;
		if (j < b->n6 && b->v6[j].lo == a->v6[i].lo &&
		    b->v6[j].hi == a->v6[i].hi)
			continue;
		if (nft_iv6_add(out, a->v6[i].lo, a->v6[i].hi) < 0)
			goto oom;
	}
	return 0;
oom:
	nft_ivs_free(out);
	return -1;
}

void
nft_rec_follow(struct nft_ctx *x, const struct nft_batch *b)
{
	/* Each commit moves the generation by one; 0 means "no check". */
	if (x->rec.valid && x->rec.gen == b->gen && b->gen + 1 != 0)
		x->rec.gen = b->gen + 1;
	else
		x->rec.valid = false;
}
