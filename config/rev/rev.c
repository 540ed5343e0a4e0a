/*
 * rev_compile(): the one path from a config file to what cordon-dp
 * enforces (rev.h).
 */
#include <stdio.h>
#include <string.h>

#include "config/geo/geo_saved.h"
#include "config/policy/pol_compile.h"
#include "config/rev/rev.h"
#include "wire/dpc_proto.h"

_Static_assert(REV_HASH_LEN == DPC_WIRE_HASH, "policy hash size");
_Static_assert(REV_HASH_LEN == GEO_SAVED_ID_LEN, "geo hash size");

unsigned
rev_geo_sources(const struct conf *c, struct geo_source src[GEO_LAYER_MAX])
{
	for (unsigned i = 0; i < c->ngeo; i++) {
		src[i].path = c->geo_path[i];
		src[i].field = c->geo_field[i];
	}
	return c->ngeo;
}

static int
rev_geo_build_from(const struct conf *c, const struct geo_source *src,
    unsigned n, struct geo_db *db, char *err, size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen,
		    "no geolocation database configured: "
		    "cordon-dp refuses to run without one (fail closed)");
		return -1;
	}
	return geo_db_build(src, n, c->overrides, c->noverrides, db, err,
	    errlen);
}

int
rev_geo_build(const struct conf *c, struct geo_db *db, char *err, size_t errlen)
{
	struct geo_source src[GEO_LAYER_MAX];
	unsigned n = rev_geo_sources(c, src);

	return rev_geo_build_from(c, src, n, db, err, errlen);
}

bool
rev_geo_same(const struct conf *a, const struct conf *b)
{
	return a->ngeo == b->ngeo && a->noverrides == b->noverrides &&
	       memcmp(a->geo_path, b->geo_path, sizeof(a->geo_path)) == 0 &&
	       memcmp(a->geo_field, b->geo_field, sizeof(a->geo_field)) == 0 &&
	       memcmp(a->overrides, b->overrides,
	           a->noverrides * sizeof(a->overrides[0])) == 0;
}

void
rev_geo_hash(const struct geo_db *db, const struct conf *c,
    uint8_t out[REV_HASH_LEN])
{
	geo_saved_id(db, c->overrides, c->noverrides, out);
}

/* The tables: borrowed, compiled, or what the fallback stands in. */
static int
rev_geo(const struct rev_geo *g, struct rev *r, char *err, size_t errlen)
{
	struct geo_source own[GEO_LAYER_MAX];
	const struct geo_source *src = g->src ? g->src : own;
	unsigned n = g->src ? g->n : rev_geo_sources(r->conf, own);

	if (g->src == NULL && g->reuse != NULL && g->reuse_conf != NULL &&
	    rev_geo_same(g->reuse_conf, r->conf)) {
		*r->geo = *g->reuse;
		r->geo_borrowed = true;
		return 0;
	}
	if (rev_geo_build_from(r->conf, src, n, r->geo, err, errlen) == 0)
		return 0;
	if (g->fallback != NULL && n > 0 &&
	    g->fallback(g->arg, r->conf, src, n, r->geo, err) == 0)
		return 0;
	return -1;
}

int
rev_compile(const char *path, const struct rev_geo *g, struct rev *r, char *err,
    size_t errlen)
{
	static const struct rev_geo none;

	r->geo_borrowed = false;
	r->fail = REV_FAIL_CONF;
	if (conf_load(path, r->conf, err, errlen) < 0 ||
	    pol_compile(r->conf, NULL, r->pol, err, errlen) < 0)
		return -1;
	r->fail = REV_FAIL_GEO;
	if (rev_geo(g ? g : &none, r, err, errlen) < 0)
		return -1;
	r->fail = REV_FAIL_NONE;
	dpc_policy_hash(r->pol, r->pol_hash);
	rev_geo_hash(r->geo, r->conf, r->geo_hash);
	return 0;
}
