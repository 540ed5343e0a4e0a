/*
 * Listing the evidence files: names, and what each holds.  cordond's
 * `show captures` and the writer's pruning read the folder the same way.
 * A file that ends in a torn record (the writer died inside a write) is
 * read up to it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/evid/evid_pcap.h"

#define EVID_MAGIC_US 0xa1b2c3d4u
#define EVID_REC_MAX  262144u /* larger: not a record of ours */

bool
evid_name_ok(const char *name)
{
	size_t n = strlen(name), p = strlen(EVID_PREFIX),
	       s = strlen(EVID_SUFFIX);

	return n > p + s && n < EVID_NAME_MAX &&
	       strncmp(name, EVID_PREFIX, p) == 0 &&
	       strcmp(name + n - s, EVID_SUFFIX) == 0;
}

static int
evid_name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
evid_names(int dirfd, char (*out)[EVID_NAME_MAX], unsigned max)
{
	struct dirent *e;
	unsigned n = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while (n < max && (e = readdir(d)) != NULL)
		if (evid_name_ok(e->d_name))
			memcpy(out[n++], e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	qsort(out, n, EVID_NAME_MAX, evid_name_cmp);
	return (int)n;
}

static uint32_t
evid_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The records of F, after its header: counted until the first torn one. */
static void
evid_records(FILE *in, struct evid_file *f, uint64_t size)
{
	uint8_t h[16];
	uint64_t off = 24, ts;
	uint32_t len;

	while (off < size) {
		if (size - off < 16 || fread(h, 1, 16, in) != 16) {
			f->torn = true;
			return;
		}
		len = evid_u32(h + 8);
		if (len > EVID_REC_MAX || size - off - 16 < len ||
		    fseeko(in, len, SEEK_CUR) != 0) {
			f->torn = true;
			return;
		}
		off += 16 + (uint64_t)len;
		ts = evid_u32(h) * 1000000000ull + evid_u32(h + 4) * 1000ull;
		if (f->packets++ == 0)
			f->first_ns = ts;
		f->last_ns = ts;
	}
}

int
evid_file_read(int dirfd, const char *name, struct evid_file *f)
{
	uint8_t h[24];
	struct stat st;
	FILE *in;
	int fd;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (in = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	if (fread(h, 1, 24, in) != 24 || evid_u32(h) != EVID_MAGIC_US)
		f->bad = true;
	else
		evid_records(in, f, f->size);
	fclose(in);
	return 0;
}

int
evid_scan(const char *dir, struct evid_file *out, unsigned max)
{
	char(*names)[EVID_NAME_MAX];
	int dfd, n, k = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if ((names = calloc(max ? max : 1, EVID_NAME_MAX)) == NULL) {
		close(dfd);
		return -1;
	}
	n = evid_names(dfd, names, max);
	for (int i = 0; i < n; i++)
		if (evid_file_read(dfd, names[i], &out[k]) == 0)
			k++;
	free(names);
	close(dfd);
	return n < 0 ? -1 : k;
}
