/*
 * Geolocation compiler: layers in order, then the config overrides, with
 * the built-in prefixes (special-purpose blocks, IPv4-embedding aliases)
 * in between, all into fresh tables that replace the caller's only when
 * everything succeeded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_layer.h"
#include "config/geo/geo_special.h"
#include "core/util/clock.h"

static int
geo_override_apply(struct geo_tables *t, const struct geo_override *o,
    unsigned i, char *err, size_t errlen)
{
	uint32_t a4;
	int r;

	if (o->af == 4 && o->plen <= 32) {
		a4 = (uint32_t)o->addr[0] << 24 | (uint32_t)o->addr[1] << 16 |
		     (uint32_t)o->addr[2] << 8 | o->addr[3];
		r = geo_v4_set(t, a4, o->plen, o->cc);
	} else if (o->af == 6 && o->plen <= 128) {
		r = geo_v6_set(t, o->addr, o->plen, o->cc);
	} else {
		errno = EINVAL;
		r = -1;
	}
	if (r == -1)
		snprintf(err, errlen, "override %u: %s", i + 1,
		    strerror(errno));
	return r;
}

/*
 * Overrides are written in three passes, each after the built-ins they
 * lie in (geo_special.c): those outside every built-in prefix first, so
 * that a broad one (0.0.0.0/0, ::/0) does not undo them; then the
 * special-purpose blocks and the overrides inside them (the demo's
 * TEST-NETs); then the IPv4-embedding aliases and the overrides inside
 * those.  Within a pass, config order: a later override wins.
 */
static int
geo_overrides_apply(struct geo_tables *t, const struct geo_override *ov,
    unsigned nov, enum geo_in in, char *err, size_t errlen)
{
	for (unsigned i = 0; i < nov; i++)
		if (geo_builtin_in(ov[i].af, ov[i].addr, ov[i].plen) == in &&
		    geo_override_apply(t, &ov[i], i, err, errlen) == -1)
			return -1;
	return 0;
}

static int
geo_db_fill(struct geo_db *db, const struct geo_source *src, unsigned n,
    const struct geo_override *ov, unsigned nov, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (geo_layer_load(db->tables, &src[i], &db->layer[i], err,
		        errlen) == -1)
			return -1;
	db->nlayers = n;
	for (enum geo_in in = GEO_IN_NONE; in <= GEO_IN_ALIAS; in++)
		if ((in != GEO_IN_NONE && geo_builtins_apply(db->tables, in,
		                              err, errlen) == -1) ||
		    geo_overrides_apply(db->tables, ov, nov, in, err, errlen) ==
		        -1)
			return -1;
	db->noverrides = nov;
	if (geo_tables_compact(db->tables) == -1) {
		snprintf(err, errlen, "compacting tables: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
geo_db_build(const struct geo_source *src, unsigned n,
    const struct geo_override *ov, unsigned nov, struct geo_db *out, char *err,
    size_t errlen)
{
	uint64_t t0 = clk_mono_ns();
	struct geo_db db;

	if (n > GEO_LAYER_MAX || (nov > 0 && ov == NULL) ||
	    (n > 0 && src == NULL)) {
		snprintf(err, errlen, "geo: %s", strerror(EINVAL));
		errno = EINVAL;
		return -1;
	}
	memset(&db, 0, sizeof(db));
	if ((db.tables = geo_tables_create()) == NULL) {
		snprintf(err, errlen, "geo tables: %s", strerror(errno));
		return -1;
	}
	if (geo_db_fill(&db, src, n, ov, nov, err, errlen) == -1) {
		geo_tables_free(db.tables);
		errno = EINVAL;
		return -1;
	}
	db.compile_ms = (double)(clk_mono_ns() - t0) / 1e6;
	*out = db;
	return 0;
}

void
geo_db_free(struct geo_db *db)
{
	if (db == NULL)
		return;
	geo_tables_free(db->tables);
	db->tables = NULL;
	db->nlayers = 0;
	db->noverrides = 0;
}

static void
geo_layer_print(const struct geo_layer_meta *m, unsigned i, FILE *fp)
{
	time_t when = (time_t)m->build_epoch;
	char built[32] = "?";
	struct tm tm;

	if (gmtime_r(&when, &tm) != NULL)
		strftime(built, sizeof(built), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(fp, "layer %u: %s\n", i + 1, m->path);
	fprintf(fp, "  type: %s, IPv%u, record size %u, %u nodes\n",
	    m->db_type[0] ? m->db_type : "-", m->ip_version, m->record_size,
	    m->node_count);
	fprintf(fp, "  built: %s (%llu)\n", built,
	    (unsigned long long)m->build_epoch);
	fprintf(fp, "  field: %s\n", m->field);
	fprintf(fp, "  prefixes with a country: %llu IPv4, %llu IPv6\n",
	    (unsigned long long)m->v4_prefixes,
	    (unsigned long long)m->v6_prefixes);
	fprintf(fp,
	    "  records: %llu, %llu without the field, %llu with a "
	    "bad value, %llu with a non-ISO code\n",
	    (unsigned long long)m->data_records,
	    (unsigned long long)m->records_no_field,
	    (unsigned long long)m->records_bad_value,
	    (unsigned long long)m->records_non_iso);
}

void
geo_db_print(const struct geo_db *db, void *stdio_file)
{
	FILE *fp = stdio_file;
	struct geo_mem mem;
	unsigned i;

	for (i = 0; i < db->nlayers; i++)
		geo_layer_print(&db->layer[i], i, fp);
	fprintf(fp, "overrides: %u\n", db->noverrides);
	if (db->tables != NULL) {
		geo_tables_mem(db->tables, &mem);
		fprintf(fp,
		    "tables: IPv4 %.1f MiB (%u tbl8 groups), "
		    "IPv6 %.1f MiB (%u nodes)\n",
		    mem.v4_bytes / 1048576.0, mem.v4_tbl8_groups,
		    mem.v6_bytes / 1048576.0, mem.v6_nodes);
	}
	fprintf(fp, "compile: %.1f ms\n", db->compile_ms);
}
