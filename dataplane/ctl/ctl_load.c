/*
 * LOAD: a bundle of sealed memfds (the flat policy, the geo blob) turned
 * into a new enforced state.  Nothing from the sender is trusted: the
 * memfds must be sealed against every change (so what was checked is
 * what the workers read), sizes and versions must match, every index is
 * checked before the state is published.  Any failure keeps the state
 * that is in force.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/ctl/ctl_int.h"
#include "dataplane/dp/dp.h"
#include "core/util/clock.h"

#define CTL_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

/* FD must be a memfd sealed against writes and resizes, of SIZE bytes. */
static int
ctl_memfd_check(int fd, uint64_t size, const char *what,
    struct dpc_msg_result *r)
{
	struct stat sb;
	int seals;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		dpc_result_set(r, EBADF, "%s: not a memfd", what);
		return -1;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & CTL_SEALS) != CTL_SEALS) {
		dpc_result_set(r, EPERM, "%s: not sealed (write, shrink, grow)",
		    what);
		return -1;
	}
	if ((uint64_t)sb.st_size != size || size == 0) {
		dpc_result_set(r, EINVAL,
		    "%s: %lld bytes, the request says "
		    "%llu",
		    what, (long long)sb.st_size, (unsigned long long)size);
		return -1;
	}
	return 0;
}

static void *
ctl_map(int fd, size_t len, const char *what, struct dpc_msg_result *r)
{
	/* Populated now: the workers must not take the page faults. */
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);

	if (p == MAP_FAILED) {
		dpc_result_set(r, errno, "%s: mmap: %s", what, strerror(errno));
		return NULL;
	}
	return p;
}

static int
ctl_load_req(const struct dpc_msg_load *m, unsigned nfd,
    struct dpc_msg_result *r)
{
	if (m->version != DPC_PROTO_VERSION)
		dpc_result_set(r, EPROTO,
		    "protocol version %u, cordon-dp "
		    "speaks %u",
		    m->version, DPC_PROTO_VERSION);
	else if (m->pol_layout != POL_LAYOUT_VERSION)
		dpc_result_set(r, EPROTO,
		    "policy layout version %u, cordon-dp "
		    "has %u",
		    m->pol_layout, POL_LAYOUT_VERSION);
	else if (m->pol_size != sizeof(struct policy))
		dpc_result_set(r, EINVAL,
		    "policy of %llu bytes, cordon-dp's "
		    "has %zu",
		    (unsigned long long)m->pol_size, sizeof(struct policy));
	else if (m->revision == 0)
		dpc_result_set(r, EINVAL,
		    "revision 0 is cordon-dp's own "
		    "config");
	else if (m->has_geo > 1 || m->has_sess > 1 ||
	         nfd != 1 + m->has_geo + m->has_sess)
		dpc_result_set(r, EBADF, "%u file descriptor(s), expected %u",
		    nfd, 1 + m->has_geo + m->has_sess);
	else
		return 0;
	return -1;
}

/* The geo memfd as imported tables, or NULL with R set. */
static struct dp_geo *
ctl_load_geo(int fd, uint64_t size, struct dpc_msg_result *r)
{
	struct geo_tables *t;
	struct dp_geo *g;
	char err[200];
	void *map;

	if (ctl_memfd_check(fd, size, "geo", r) != 0 ||
	    (map = ctl_map(fd, size, "geo", r)) == NULL)
		return NULL;
	if ((t = geo_tables_import(map, size, err, sizeof(err))) == NULL) {
		dpc_result_set(r, EINVAL, "%s", err);
		munmap(map, size);
		return NULL;
	}
	if ((g = dp_geo_new(t, map, size)) == NULL) {
		dpc_result_set(r, ENOMEM, "out of memory");
		geo_tables_free(t);
		munmap(map, size);
	}
	return g;
}

/*
 * The session table: cordond keeps writing it, so it cannot be sealed
 * against writes; sealed against resizes, our mapping stays valid.  We
 * map it read-only and sess_attach() checks its geometry.
 */
static struct dp_sess *
ctl_load_sess(int fd, struct dpc_msg_result *r)
{
	struct sess_table *t;
	struct dp_sess *s;
	char err[200];
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
	                     (F_SEAL_SHRINK | F_SEAL_GROW)) {
		dpc_result_set(r, EPERM, "sessions: not sealed (shrink, grow)");
		return NULL;
	}
	if (sess_attach(fd, false, &t, err, sizeof(err)) != 0) {
		dpc_result_set(r, EINVAL, "sessions: %s", err);
		return NULL;
	}
	/* The classifier reads an entry's bits as a whole struct pol_set. */
	if (t->words < POL_WORDS) {
		dpc_result_set(r, EINVAL,
		    "sessions: %u words of rule bits, "
		    "the policy has %u",
		    t->words, (unsigned)POL_WORDS);
		sess_detach(t);
		return NULL;
	}
	if ((s = dp_sess_new(t)) == NULL) {
		dpc_result_set(r, ENOMEM, "out of memory");
		sess_detach(t);
	}
	return s;
}

/* The new state, not yet published; NULL with R set. */
static struct dp_state *
ctl_load_state(struct dp_ctx *dp, const struct dpc_msg_load *m, int *fds,
    struct dpc_msg_result *r)
{
	struct dp_geo *g = dp->state->geo_ref;
	struct dp_sess *s = dp->state->sess_ref;
	struct dp_state *st = NULL;
	struct policy *pol;
	char err[200];

	if (ctl_memfd_check(fds[0], m->pol_size, "policy", r) != 0 ||
	    (pol = ctl_map(fds[0], m->pol_size, "policy", r)) == NULL)
		return NULL;
	if (m->has_geo && (g = ctl_load_geo(fds[1], m->geo_size, r)) == NULL)
		goto unmap;
	if (m->has_sess &&
	    (s = ctl_load_sess(fds[1 + m->has_geo], r)) == NULL) {
		if (m->has_geo)
			dp_geo_put(g);
		goto unmap;
	}
	/* Without new tables the current ones (and their hash) stay. */
	st = dp_state_create(dp, pol, g, s, m->revision,
	    m->has_geo ? m->geo_hash : dp->state->geo_hash, err, sizeof(err));
	if (m->has_geo)
		dp_geo_put(g);
	if (m->has_sess)
		dp_sess_put(s);
	if (st == NULL) {
		dpc_result_set(r, errno ? errno : EINVAL, "%s", err);
	} else if (memcmp(st->policy_hash, m->policy_hash, DP_HASH_LEN) != 0) {
		dpc_result_set(r, EINVAL,
		    "policy hash mismatch: the bytes "
		    "received are not the policy announced");
		dp_state_free(st);
		st = NULL;
	}
unmap:
	munmap(pol, m->pol_size);
	return st;
}

static void
ctl_hex(const uint8_t *h, char *out)
{
	for (unsigned i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void
ctl_load(struct dp_ctx *dp, const void *payload, int *fds, unsigned nfd,
    struct dpc_msg_result *r)
{
	uint64_t t0 = clk_mono_ns();
	struct dpc_msg_load m;
	struct dp_state *st = NULL;
	char hex[16];

	memcpy(&m, payload, sizeof(m));
	errno = 0;
	if (ctl_load_req(&m, nfd, r) == 0)
		st = ctl_load_state(dp, &m, fds, r);
	for (unsigned i = 0; i < nfd; i++)
		close(fds[i]);
	if (st == NULL) {
		r->revision = dp->state->revision;
		printf("cordon-dp: control: revision %llu refused: %s; "
		       "revision %llu stays\n",
		    (unsigned long long)m.revision, r->message,
		    (unsigned long long)dp->state->revision);
		return;
	}
	dp_state_publish(dp, st);
	dpc_result_set(r, 0, "revision %llu active",
	    (unsigned long long)st->revision);
	r->revision = st->revision;
	r->activated_unix_ns = st->activated_unix_ns;
	r->apply_ns = clk_mono_ns() - t0;
	ctl_hex(st->policy_hash, hex);
	printf("cordon-dp: control: revision %llu active: %u rule(s), policy "
	       "%s, %s geo tables, %s sessions, %.1f ms\n",
	    (unsigned long long)st->revision, st->pol->nrules, hex,
	    m.has_geo ? "new" : "same", m.has_sess ? "new" : "same",
	    (double)r->apply_ns / 1e6);
}
