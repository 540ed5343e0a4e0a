/*
 * How many snapshot memfds (cd_snmp_mon.c) the monitoring child pins.
 * Each new snapshot generation is a new sealed memfd charged to
 * cordond; a child that keeps them (open, mapped, or left unread on the
 * channel) would otherwise pin one per MON_SNMP_CACHE_MS, up to its
 * RLIMIT_NOFILE or its channel's buffer: gigabytes for a large MIB.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/daemon/cd_snmp_int.h"

#define CD_PIN_NAME "/memfd:" CD_SNMP_MEMFD_NAME

struct cd_pin {
	ino_t ino[CD_SNMP_PIN_MAX + 1];
	unsigned n;
};

/* INO counted once; false when past the bound. */
static bool
cd_pin_add(struct cd_pin *p, ino_t ino)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->ino[i] == ino)
			return true;
	if (p->n == CD_SNMP_PIN_MAX + 1)
		return false;
	p->ino[p->n++] = ino;
	return p->n <= CD_SNMP_PIN_MAX;
}

/* The child's descriptors that are snapshot memfds. */
static bool
cd_pin_fds(pid_t pid, struct cd_pin *p)
{
	char dir[64], path[384], link[64];
	struct dirent *e;
	struct stat st;
	bool ok = true;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return false;
	while (ok && (e = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, CD_PIN_NAME, strlen(CD_PIN_NAME)) == 0 &&
		    stat(path, &st) == 0)
			ok = cd_pin_add(p, st.st_ino);
	}
	closedir(d);
	return ok;
}

/* The child's mappings of snapshot memfds (an fd closed after mmap). */
static bool
cd_pin_maps(pid_t pid, struct cd_pin *p)
{
	char path[64], line[512];
	bool ok = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (ok && fgets(line, sizeof(line), f)) {
		uintmax_t ino;

		if (strstr(line, CD_PIN_NAME) != NULL &&
		    sscanf(line, "%*s %*s %*s %*s %ju", &ino) == 1)
			ok = cd_pin_add(p, (ino_t)ino);
	}
	fclose(f);
	return ok;
}

bool
cd_snmp_pin_room(const struct proc_child *c)
{
	struct cd_pin p = { .n = 0 };
	int queued = 0;

	/* unread messages may hold older generations */
	if (ioctl(c->fd, SIOCOUTQ, &queued) != 0 || queued > 0)
		return false;
	return cd_pin_fds(c->pid, &p) && cd_pin_maps(c->pid, &p);
}
