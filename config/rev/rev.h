/*
 * One revision compiled, written once: a config file -> struct conf
 * (validated) -> the fast path's struct policy -> geolocation tables ->
 * the hashes cordon-dp reports for them.  cordon-dp's standalone mode,
 * `cordond -n` and every revision cordond compiles (start-up, commit,
 * candidate check) go through rev_compile(), so none of them can judge
 * a config differently from the others.
 */
#ifndef CORDON_REV_H
#define CORDON_REV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/geo/geo_build.h"
#include "config/load/conf.h"
#include "core/policy/policy.h"

#define REV_HASH_LEN 32 /* SHA-256, as on the dataplane channel */

/* What failed: the config (file:line), or its geolocation databases. */
enum rev_fail { REV_FAIL_NONE, REV_FAIL_CONF, REV_FAIL_GEO };

/*
 * Where rev_compile() writes, all caller-allocated (struct conf and
 * struct policy are large).  The policy uses config port indexes, as
 * cordond pushes it and cordon-dp remaps it (docs/architecture.md).
 */
struct rev {
	struct conf *conf;
	struct policy *pol;
	struct geo_db *geo;
	uint8_t pol_hash[REV_HASH_LEN]; /* dpc_policy_hash() */
	uint8_t geo_hash[REV_HASH_LEN]; /* geo_saved_id(): what it came from */
	bool geo_borrowed; /* *geo is the reuse tables: not ours to free */
	enum rev_fail fail;
};

/*
 * How the tables are had.  All optional (a zeroed struct: the config's
 * databases, compiled afresh, failure is final).
 */
struct rev_geo {
	/* Databases that replace the config's (cordon-dp --geodb). */
	const struct geo_source *src;
	unsigned n;
	/* Tables compiled for REUSE_CONF: borrowed when its databases
	 * and overrides are the new config's (cordond's commits). */
	const struct conf *reuse_conf;
	const struct geo_db *reuse;
	/* When the databases do not compile (ERR says why): may fill DB
	 * with tables that stand in for them (saved ones) and return 0. */
	int (*fallback)(void *arg, const struct conf *c,
	    const struct geo_source *src, unsigned n, struct geo_db *db,
	    const char *err);
	void *arg;
};

/*
 * Compiles the config at PATH into R (R->conf, R->pol, R->geo set by the
 * caller).  0, or -1 with R->fail and ERR ("file:line: message" for the
 * config; the database for the tables).  On failure R->geo holds
 * nothing to free.
 */
int rev_compile(const char *path, const struct rev_geo *g, struct rev *r,
    char *err, size_t errlen);

/*
 * The config's databases as geo_db_build() takes them, into SRC
 * (GEO_LAYER_MAX); returns how many.
 */
unsigned rev_geo_sources(const struct conf *c,
    struct geo_source src[GEO_LAYER_MAX]);
/*
 * conf -> geo sources -> geo_db_build(): the config's databases and
 * overrides compiled into DB.  0, or -1 with ERR (no database
 * configured counts as an error: cordon-dp never runs without one).
 */
int rev_geo_build(const struct conf *c, struct geo_db *db, char *err,
    size_t errlen);
/* The same databases and overrides: the tables would come out equal. */
bool rev_geo_same(const struct conf *a, const struct conf *b);
/* Names tables by what they were compiled from (the geo hash). */
void rev_geo_hash(const struct geo_db *db, const struct conf *c,
    uint8_t out[REV_HASH_LEN]);

#endif
