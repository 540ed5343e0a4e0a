/*
 * The knock replay cache: every accepted nonce is remembered until the
 * knock it came in could no longer pass the age check anyway, also
 * across restarts.  In memory an open-addressing table with linear
 * probing, at most half full; on disk an append-only file of fixed-size,
 * checksummed records:
 *
 *   header  "CDKRPL01" | 24 zero bytes                      (32 bytes)
 *   record  nonce[16] | expires i64 BE | check u64 BE       (32 bytes)
 *
 * check is SipHash-2-4 under an all-zero key of the first 24 bytes: it
 * catches torn and scribbled records, it is no defence against someone
 * who can write the file (who could simply delete it).
 *
 * Durability: a record is written and fdatasync'd before the knock is
 * accepted, so a crash cannot forget a nonce that opened a session.  Only
 * authenticated knocks get here, and they are rate limited per source,
 * so the sync per knock is affordable.  Entries are never deleted one by
 * one: when the table holds CAPACITY slots, expired ones are swept out
 * in one rebuild; if all are still fresh, the knock is refused (fail
 * closed) and counted, because forgetting a fresh nonce would reopen
 * the replay window.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ident/knock.h"

#define KNOCK_REC_LEN    32
#define KNOCK_FILE_MAGIC "CDKRPL01"

struct knock_slot {
	uint8_t nonce[KNOCK_NONCE_LEN];
	int64_t expires;
	uint8_t used;
};

struct knock_replay {
	char *path;       /* NULL: memory only */
	int fd;           /* append descriptor, -1 without a file */
	size_t capacity;  /* most entries held at once */
	size_t nslots;    /* power of two >= 2 * capacity */
	size_t used;      /* occupied slots, fresh or not */
	size_t file_recs; /* records in the file since the last rewrite */
	bool torn;        /* a failed append left a partial record */
	struct knock_slot *slots, *spare;
	uint8_t seed[16];
	struct knock_replay_stats st;
};

static const uint8_t knock_zero_key[16];

static void
knock_errf(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path ? path : "",
	    strerror(errno));
}

static size_t
knock_slot_find(const struct knock_replay *r, const struct knock_slot *tab,
    const uint8_t *nonce)
{
	size_t mask = r->nslots - 1;
	size_t i = (size_t)knock_siphash(r->seed, nonce, KNOCK_NONCE_LEN) &
	           mask;

	while (tab[i].used && memcmp(tab[i].nonce, nonce, KNOCK_NONCE_LEN))
		i = (i + 1) & mask;
	return i;
}

/* Keeps the later expiry if the nonce is there already. */
static void
knock_slot_put(struct knock_replay *r, struct knock_slot *tab,
    const uint8_t *nonce, int64_t expires)
{
	size_t i = knock_slot_find(r, tab, nonce);

	if (!tab[i].used) {
		tab[i].used = 1;
		memcpy(tab[i].nonce, nonce, KNOCK_NONCE_LEN);
		tab[i].expires = expires;
		r->used++;
	} else if (tab[i].expires < expires) {
		tab[i].expires = expires;
	}
}

/* Rebuilds the table with only the entries still fresh at NOW. */
static void
knock_replay_sweep(struct knock_replay *r, int64_t now)
{
	struct knock_slot *old = r->slots;

	memset(r->spare, 0, r->nslots * sizeof(*r->spare));
	r->used = 0;
	for (size_t i = 0; i < r->nslots; i++)
		if (old[i].used && old[i].expires >= now)
			knock_slot_put(r, r->spare, old[i].nonce,
			    old[i].expires);
	r->slots = r->spare;
	r->spare = old;
}

size_t
knock_replay_count(struct knock_replay *r, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nslots; i++)
		n += r->slots[i].used && r->slots[i].expires >= now;
	return n;
}

const struct knock_replay_stats *
knock_replay_stats(const struct knock_replay *r)
{
	return &r->st;
}

static void
knock_rec_encode(uint8_t rec[KNOCK_REC_LEN], const uint8_t *nonce,
    int64_t expires)
{
	uint64_t v = (uint64_t)expires, c;

	memcpy(rec, nonce, KNOCK_NONCE_LEN);
	for (int i = 7; i >= 0; i--, v >>= 8)
		rec[16 + i] = (uint8_t)v;
	c = knock_siphash(knock_zero_key, rec, 24);
	for (int i = 7; i >= 0; i--, c >>= 8)
		rec[24 + i] = (uint8_t)c;
}

/* 0 and *EXPIRES, or -1 if the checksum does not match. */
static int
knock_rec_decode(const uint8_t rec[KNOCK_REC_LEN], int64_t *expires)
{
	uint64_t v = 0, c = 0;

	for (int i = 0; i < 8; i++) {
		v = v << 8 | rec[16 + i];
		c = c << 8 | rec[24 + i];
	}
	if (c != knock_siphash(knock_zero_key, rec, 24))
		return -1;
	*expires = (int64_t)v;
	return 0;
}

static int
knock_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
knock_fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* Header and every fresh entry, to FD. */
static int
knock_replay_dump(struct knock_replay *r, int fd, int64_t now)
{
	uint8_t rec[KNOCK_REC_LEN] = { 0 };

	memcpy(rec, KNOCK_FILE_MAGIC, 8);
	if (knock_write_all(fd, rec, sizeof(rec)) < 0)
		return -1;
	r->file_recs = 0;
	for (size_t i = 0; i < r->nslots; i++) {
		const struct knock_slot *s = &r->slots[i];

		if (!s->used || s->expires < now)
			continue;
		knock_rec_encode(rec, s->nonce, s->expires);
		if (knock_write_all(fd, rec, sizeof(rec)) < 0)
			return -1;
		r->file_recs++;
	}
	return 0;
}

/*
 * Writes the fresh entries to PATH.tmp, syncs it and renames it over
 * PATH, then reopens PATH for appending.  On failure the old file and
 * descriptor stay as they were.
 */
static int
knock_replay_rewrite(struct knock_replay *r, int64_t now)
{
	char tmp[4096];
	size_t recs;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	recs = r->file_recs;
	if (knock_replay_dump(r, fd, now) < 0 || fsync(fd) < 0 ||
	    rename(tmp, r->path) < 0) {
		r->file_recs = recs;
		goto out_unlink;
	}
	close(fd);
	knock_fsync_dir(r->path);
	r->st.compactions++;
	/* The old descriptor now points at the replaced file. */
	if (r->fd >= 0)
		close(r->fd);
	r->fd = open(r->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return r->fd < 0 ? -1 : 0;
out_unlink:
	close(fd);
	unlink(tmp);
	return -1;
}

/* The fresh records of the file, read at open. */
struct knock_loaded {
	uint8_t (*nonce)[KNOCK_NONCE_LEN];
	int64_t *expires;
	size_t n, cap;
};

static int
knock_loaded_add(struct knock_loaded *l, const uint8_t *nonce, int64_t expires)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		void *a = realloc(l->nonce, cap * sizeof(*l->nonce));

		if (a == NULL)
			return -1;
		l->nonce = a;
		a = realloc(l->expires, cap * sizeof(*l->expires));
		if (a == NULL)
			return -1;
		l->expires = a;
		l->cap = cap;
	}
	memcpy(l->nonce[l->n], nonce, KNOCK_NONCE_LEN);
	l->expires[l->n++] = expires;
	return 0;
}

/* Sorts one record of the file into fresh, expired or corrupt. */
static int
knock_load_rec(struct knock_replay *r, struct knock_loaded *l,
    const uint8_t *rec, int64_t now)
{
	int64_t expires;

	if (knock_rec_decode(rec, &expires) < 0) {
		r->st.corrupt++;
		return 0;
	}
	if (expires < now) {
		r->st.expired++;
		return 0;
	}
	r->st.loaded++;
	return knock_loaded_add(l, rec, expires);
}

/*
 * Reads FD after its header.  A partial last record is what a crash in
 * the middle of an append leaves: it is counted and ignored.
 */
static int
knock_load_fd(struct knock_replay *r, struct knock_loaded *l, int fd,
    int64_t now)
{
	uint8_t buf[KNOCK_REC_LEN * 128];
	size_t have = 0, off;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		have += (size_t)n;
		for (off = 0; have - off >= KNOCK_REC_LEN; off += KNOCK_REC_LEN)
			if (knock_load_rec(r, l, buf + off, now) < 0)
				return -1;
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	r->st.torn = have;
	return 0;
}

static int
knock_load_file(struct knock_replay *r, struct knock_loaded *l, int64_t now,
    char *err, size_t errlen)
{
	uint8_t hdr[KNOCK_REC_LEN];
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int rc = -1;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		knock_errf(err, errlen, "cannot open", r->path);
		return -1;
	}
	n = read(fd, hdr, sizeof(hdr));
	/* Created empty by hand (or by us, never: we rename whole files). */
	if (n == 0) {
		rc = 0;
	} else if (n != (ssize_t)sizeof(hdr) ||
	           memcmp(hdr, KNOCK_FILE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "%s: not a knock replay cache", r->path);
	} else if (knock_load_fd(r, l, fd, now) < 0) {
		knock_errf(err, errlen, "cannot read", r->path);
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}

static int
knock_replay_alloc(struct knock_replay *r, size_t capacity)
{
	size_t n = 16;

	while (n < 2 * capacity)
		n <<= 1;
	r->capacity = capacity;
	r->nslots = n;
	r->slots = calloc(n, sizeof(*r->slots));
	r->spare = calloc(n, sizeof(*r->spare));
	if (r->slots == NULL || r->spare == NULL)
		return -1;
	return getrandom(r->seed, sizeof(r->seed), 0) == sizeof(r->seed) ? 0
	                                                                 : -1;
}

void
knock_replay_close(struct knock_replay *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->slots);
	free(r->spare);
	free(r->path);
	free(r);
}

/*
 * Loads PATH, then builds the table; a file holding more fresh nonces
 * than CAPACITY (the setting was lowered) raises it, so that no fresh
 * nonce is forgotten.
 */
static int
knock_replay_load(struct knock_replay *r, size_t capacity, int64_t now,
    char *err, size_t errlen)
{
	struct knock_loaded l = { 0 };
	int rc = -1;

	if (r->path && knock_load_file(r, &l, now, err, errlen) < 0)
		goto out_free;
	if (knock_replay_alloc(r, l.n > capacity ? l.n : capacity) < 0) {
		knock_errf(err, errlen, "replay cache", "");
		goto out_free;
	}
	for (size_t i = 0; i < l.n; i++)
		knock_slot_put(r, r->slots, l.nonce[i], l.expires[i]);
	if (r->path && knock_replay_rewrite(r, now) < 0) {
		knock_errf(err, errlen, "cannot rewrite", r->path);
		goto out_free;
	}
	rc = 0;
out_free:
	free(l.nonce);
	free(l.expires);
	return rc;
}

struct knock_replay *
knock_replay_open(const char *path, size_t capacity, int64_t now, char *err,
    size_t errlen)
{
	struct knock_replay *r = calloc(1, sizeof(*r));

	if (r == NULL || capacity == 0 || capacity > SIZE_MAX / 64) {
		snprintf(err, errlen,
		    "replay cache: bad capacity or no memory");
		free(r);
		return NULL;
	}
	r->fd = -1;
	if (path && (r->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "replay cache: no memory");
		free(r);
		return NULL;
	}
	if (knock_replay_load(r, capacity, now, err, errlen) < 0) {
		knock_replay_close(r);
		return NULL;
	}
	return r;
}

/* Appends one record and syncs it; -1 (counted) if that failed. */
static int
knock_replay_append(struct knock_replay *r, const uint8_t *nonce,
    int64_t expires, int64_t now)
{
	uint8_t rec[KNOCK_REC_LEN];
	struct stat sb;

	if (r->path == NULL)
		return 0;
	/* Until a clean file replaces a torn one, appends would be lost. */
	if (r->torn && knock_replay_rewrite(r, now) == 0)
		r->torn = false;
	if (r->fd < 0 && !r->torn)
		r->fd = open(r->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	knock_rec_encode(rec, nonce, expires);
	if (r->torn || r->fd < 0 || fstat(r->fd, &sb) < 0)
		goto out_err;
	if (knock_write_all(r->fd, rec, sizeof(rec)) < 0) {
		/* A torn record would shift every later one: cut it off. */
		if (ftruncate(r->fd, sb.st_size) < 0)
			r->torn = true;
		goto out_err;
	}
	if (fdatasync(r->fd) < 0)
		goto out_err;
	r->file_recs++;
	return 0;
out_err:
	r->st.io_errors++;
	return -1;
}

int
knock_replay_check_and_add(struct knock_replay *r,
    const uint8_t nonce[KNOCK_NONCE_LEN], int64_t expires, int64_t now)
{
	size_t i = knock_slot_find(r, r->slots, nonce);

	if (r->slots[i].used && r->slots[i].expires >= now)
		return KNOCK_REPLAY_SEEN;
	if (!r->slots[i].used && r->used >= r->capacity) {
		knock_replay_sweep(r, now);
		if (r->used >= r->capacity) {
			r->st.full++;
			return KNOCK_REPLAY_FULL;
		}
		i = knock_slot_find(r, r->slots, nonce);
	}
	if (knock_replay_append(r, nonce, expires, now) < 0)
		return KNOCK_REPLAY_IOERR;
	if (!r->slots[i].used)
		r->used++;
	r->slots[i].used = 1;
	memcpy(r->slots[i].nonce, nonce, KNOCK_NONCE_LEN);
	r->slots[i].expires = expires;
	/* Mostly dead records: rewrite; a failure only delays it. */
	if (r->path && r->file_recs > 2 * r->capacity &&
	    knock_replay_rewrite(r, now) < 0)
		r->st.io_errors++;
	return KNOCK_REPLAY_OK;
}
