/*
 * libFuzzer harness for the config loader and, on configs it accepts,
 * the policy compiler and the canonical printer.  conf_load() reads a
 * path, so each input is written to one temp file made once per process
 * and rewritten every iteration.
 *
 * @include may name any path, and reading arbitrary files is fine, but
 * the code under test must never write and must never block: fopen() is
 * wrapped so that while the harness runs the loader it refuses every
 * mode but reading, and every path that is not a regular file (a FIFO,
 * /dev/zero, /dev/stdin, /proc/kmsg would hang or never end).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
FILE *fopen(const char *path, const char *mode);

static char fuzz_path[64];
static int fuzz_fd = -1;
static FILE *fuzz_null;
static struct conf *fuzz_conf;
static struct policy *fuzz_pol;
/* Set while the loader runs: fopen() is guarded. */
static int fuzz_guard;

/* Regular files only, opened without blocking, so a FIFO cannot hang. */
static int
fuzz_path_regular(const char *path)
{
	struct stat st;
	int fd, ok;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	return ok;
}

FILE *
fopen(const char *path, const char *mode)
{
	static FILE *(*real_fopen)(const char *, const char *);

	if (real_fopen == NULL &&
	    (real_fopen = dlsym(RTLD_NEXT, "fopen")) == NULL)
		abort();
	if (fuzz_guard && (mode[0] != 'r' || strchr(mode, '+') != NULL)) {
		fprintf(stderr, "fuzz_conf: refused fopen(\"%s\", \"%s\")\n",
		    path, mode);
		/* The loader must never write: this is a finding. */
		abort();
	}
	if (fuzz_guard && !fuzz_path_regular(path)) {
		errno = EACCES;
		return NULL;
	}
	return real_fopen(path, mode);
}

/*
 * The temp file is unlinked at once and read back through
 * /proc/self/fd: libFuzzer leaves with _Exit(), so nothing would remove
 * it, and a crash would leave it behind.
 */
static void
fuzz_init(void)
{
	char path[64];

	/* /dev/shm keeps the per-iteration rewrite off the disk. */
	snprintf(path, sizeof(path), "/dev/shm/fuzz_conf.XXXXXX");
	if ((fuzz_fd = mkstemp(path)) < 0) {
		snprintf(path, sizeof(path), "/tmp/fuzz_conf.XXXXXX");
		fuzz_fd = mkstemp(path);
	}
	if (fuzz_fd < 0) {
		perror("fuzz_conf: mkstemp");
		abort();
	}
	unlink(path);
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	fuzz_null = fdopen(open("/dev/null", O_WRONLY | O_CLOEXEC), "w");
	fuzz_conf = calloc(1, sizeof(*fuzz_conf));
	fuzz_pol = calloc(1, sizeof(*fuzz_pol));
	if (fuzz_null == NULL || fuzz_conf == NULL || fuzz_pol == NULL)
		abort();
}

static void
fuzz_file_write(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	if (ftruncate(fuzz_fd, 0) != 0)
		abort();
	while (off < size) {
		n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int rc;

	if (fuzz_fd < 0)
		fuzz_init();
	fuzz_file_write(data, size);
	fuzz_guard = 1;
	rc = conf_load(fuzz_path, fuzz_conf, err, sizeof(err));
	fuzz_guard = 0;
	if (rc != 0) {
		/* A terminated "file:line: message" (names it quotes may
		 * hold any byte, so only the shape is checked). */
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strchr(err, ':') == NULL)
			abort();
		return 0;
	}
	conf_print(fuzz_conf, fuzz_null);
	if (pol_compile(fuzz_conf, NULL, fuzz_pol, err, sizeof(err)) != 0 &&
	    memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}
