/*
 * The evidence pcap writer (main lcore).  Each record leaves in one
 * write(2); a short or failed write is cut back off the file and the
 * record is lost and counted; the owner hears it once (the alarm) and
 * again when a write goes out (resumed).  Every record is tried: a
 * failed write on a full disk costs little, and the first record after
 * space returns must not be thrown away untried (its flow may send no
 * other).  Files rotate on size and age; the oldest go when there are
 * too many or they are too old.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/evid/evid_pcap.h"

#define EVID_PRUNE_MAX 4096 /* names looked at when pruning */

static void
evid_note(struct evid_writer *w, enum evid_event ev, const char *file, int err)
{
	if (w->event != NULL)
		w->event(w->arg, ev, file, err);
}

int
evid_writer_init(struct evid_writer *w, const struct evid_conf *c,
    evid_event_fn *fn, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->c = *c;
	w->fd = -1;
	w->dfd = -1;
	w->write = write;
	w->event = fn;
	w->arg = arg;
	return 0;
}

void
evid_writer_use_dir(struct evid_writer *w, int dfd)
{
	w->dfd = dfd;
}

/* The folder, opened for reading its names; -1 when missing. */
static int
evid_dir_open(const struct evid_writer *w)
{
	if (w->dfd >= 0)
		return openat(w->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return open(w->c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
evid_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Writes N bytes at P whole, or cuts the file back to where it was. */
static int
evid_write_whole(struct evid_writer *w, const void *p, size_t n)
{
	ssize_t r = w->write(w->fd, p, n);
	int err = errno;

	if (r == (ssize_t)n)
		return 0;
	/* Part of it went out: cut it off, and write on from there. */
	if (r > 0) {
		(void)!ftruncate(w->fd, (off_t)w->size);
		(void)lseek(w->fd, (off_t)w->size, SEEK_SET);
	}
	errno = r < 0 ? err : ENOSPC;
	return -1;
}

static void
evid_file_name(struct evid_writer *w, uint64_t now, char *out)
{
	time_t t = (time_t)now;
	struct tm tm;
	char ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, EVID_NAME_MAX, EVID_PREFIX "%s-%u" EVID_SUFFIX, ts,
	    ++w->seq);
}

/* A new file (never an old one appended to), with its header. */
static int
evid_open(struct evid_writer *w, uint64_t now)
{
	char path[EVID_DIR_MAX + EVID_NAME_MAX + 2];
	int at = w->dfd >= 0 ? w->dfd : AT_FDCWD;
	uint8_t h[24];

	/* Made when first needed: the state folder may come later. */
	if (w->dfd < 0 && mkdir(w->c.dir, 0750) != 0 && errno != EEXIST)
		return -1;
	for (int tries = 0; w->fd < 0; tries++) {
		evid_file_name(w, now, w->name);
		if (w->dfd >= 0)
			snprintf(path, sizeof(path), "%s", w->name);
		else
			snprintf(path, sizeof(path), "%s/%s", w->c.dir,
			    w->name);
		w->fd = openat(at, path,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (w->fd < 0 && (errno != EEXIST || tries > 1000))
			return -1;
	}
	evid_put32(h, 0xa1b2c3d4u);
	h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0; /* version 2.4 */
	memset(h + 8, 0, 8);                    /* zone, sigfigs */
	evid_put32(h + 16, w->c.snaplen);
	evid_put32(h + 20, 1); /* Ethernet */
	w->size = 0;
	if (evid_write_whole(w, h, sizeof(h)) != 0) {
		int err = errno;

		close(w->fd);
		unlinkat(at, path, 0);
		w->fd = -1;
		errno = err;
		return -1;
	}
	w->size = sizeof(h);
	w->opened_s = now;
	w->opened++;
	evid_note(w, EVID_EV_OPENED, w->name, 0);
	evid_writer_tick(w, now); /* room for it among the kept */
	return 0;
}

static void
evid_close_file(struct evid_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static int
evid_lost(struct evid_writer *w, int err)
{
	w->lost++;
	if (!w->failing) {
		w->failing = true;
		evid_note(w, EVID_EV_FAILED, w->name, err);
	}
	return -1;
}

static bool
evid_due(const struct evid_writer *w, size_t reclen, uint64_t now)
{
	return w->size + reclen > w->c.file_size ||
	       (w->c.rotate_age && now - w->opened_s >= w->c.rotate_age);
}

int
evid_writer_put(struct evid_writer *w, uint64_t unix_ns, const void *data,
    unsigned caplen, unsigned wirelen)
{
	uint64_t now = unix_ns / 1000000000ull;
	size_t n;

	if (caplen > w->c.snaplen)
		caplen = w->c.snaplen;
	n = 16 + (size_t)caplen;
	if (w->fd >= 0 && w->size > 24 && evid_due(w, n, now))
		evid_close_file(w);
	if (w->fd < 0 && evid_open(w, now) != 0)
		return evid_lost(w, errno);
	evid_put32(w->rec, (uint32_t)now);
	evid_put32(w->rec + 4, (uint32_t)(unix_ns % 1000000000ull / 1000));
	evid_put32(w->rec + 8, caplen);
	evid_put32(w->rec + 12, wirelen);
	memcpy(w->rec + 16, data, caplen);
	if (evid_write_whole(w, w->rec, n) != 0)
		return evid_lost(w, errno);
	w->size += n;
	w->written++;
	if (w->failing) {
		w->failing = false;
		evid_note(w, EVID_EV_RESUMED, w->name, 0);
	}
	return 0;
}

/* Whether kept file NAME is too old to keep. */
static bool
evid_too_old(const struct evid_writer *w, int dfd, const char *name,
    uint64_t now)
{
	struct stat st;

	if (w->c.max_age == 0 || fstatat(dfd, name, &st, 0) != 0)
		return false;
	return (uint64_t)st.st_mtime + w->c.max_age < now;
}

static void
evid_prune(struct evid_writer *w, uint64_t now)
{
	char(*names)[EVID_NAME_MAX];
	int dfd, n;

	if ((dfd = evid_dir_open(w)) < 0)
		return;
	names = calloc(EVID_PRUNE_MAX, EVID_NAME_MAX);
	n = names ? evid_names(dfd, names, EVID_PRUNE_MAX) : -1;
	for (int i = 0; i < n; i++) {
		bool open_one = w->fd >= 0 && strcmp(names[i], w->name) == 0;

		if (open_one || ((unsigned)(n - i) <= w->c.files &&
		                    !evid_too_old(w, dfd, names[i], now)))
			continue;
		if (unlinkat(dfd, names[i], 0) == 0) {
			w->removed++;
			evid_note(w, EVID_EV_REMOVED, names[i], 0);
		}
	}
	free(names);
	close(dfd);
}

void
evid_writer_tick(struct evid_writer *w, uint64_t unix_s)
{
	if (w->fd >= 0 && w->c.rotate_age &&
	    unix_s - w->opened_s >= w->c.rotate_age)
		evid_close_file(w);
	evid_prune(w, unix_s);
}

void
evid_writer_close(struct evid_writer *w)
{
	evid_close_file(w);
}
