/*
 * The evidence pcap files: written by cordon-dp's main lcore, listed by
 * cordond.  Classic pcap (microseconds, Ethernet), one folder, files
 * named evidence-YYYYMMDDTHHMMSSZ-N.pcap so that names sort oldest
 * first.  Every record goes out in one write(2); one that does not go
 * out whole is cut off again, so a file only ever ends in a torn record
 * when the process died inside that write.  A new run never appends: it
 * starts a file of its own.
 */
#ifndef CORDON_EVID_PCAP_H
#define CORDON_EVID_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/evid/evid.h"

#define EVID_DIR_MAX 256

struct evid_conf {
	char dir[EVID_DIR_MAX];
	uint64_t file_size;  /* bytes a file may reach */
	unsigned files;      /* files kept, the one being written included */
	unsigned rotate_age; /* s a file is written to; 0: no limit */
	unsigned max_age;    /* s a file is kept; 0: no limit */
	unsigned snaplen;    /* the files' header says so */
};

/* What the writer tells its owner (for syslog), as it happens. */
enum evid_event {
	EVID_EV_OPENED,  /* FILE is the one written from now on */
	EVID_EV_FAILED,  /* writing stopped (ERR): records are lost */
	EVID_EV_RESUMED, /* a record went out again, into FILE */
	EVID_EV_REMOVED, /* FILE removed: too many, or too old */
};
typedef void evid_event_fn(void *arg, enum evid_event ev, const char *file,
    int err);

struct evid_writer {
	struct evid_conf c;
	int fd; /* -1: no file open */
	/* The folder opened once (evid_writer_use_dir), -1: by its path.
	 * A sandboxed writer may not reach the folder by path. */
	int dfd;
	char name[EVID_NAME_MAX];
	uint64_t size;     /* bytes in the open file */
	uint64_t opened_s; /* unix s it was opened */
	unsigned seq;
	bool failing; /* the last write failed; alarm raised */
	/* write(2); a test injects failures here. */
	ssize_t (*write)(int fd, const void *p, size_t n);
	evid_event_fn *event;
	void *arg;
	uint64_t written, lost, opened, removed;
	uint8_t rec[16 + EVID_SNAP_MAX];
};

/*
 * No file is opened (and C->dir, mode 0750, made when missing) before
 * the first record.  FN (may be NULL) hears the events.  Returns 0.
 */
int evid_writer_init(struct evid_writer *w, const struct evid_conf *c,
    evid_event_fn *fn, void *arg);

/* From now on the files go to folder DFD (the writer's), not C->dir. */
void evid_writer_use_dir(struct evid_writer *w, int dfd);

/*
 * Appends one record at UNIX_NS: CAPLEN bytes of DATA (cut to the
 * snap length) of a packet WIRELEN long.  Opens or rotates files as
 * needed.  0, or -1: the record is lost and counted (w->lost).
 */
int evid_writer_put(struct evid_writer *w, uint64_t unix_ns, const void *data,
    unsigned caplen, unsigned wirelen);

/* Once a second or so: rotation by age, and the files past the limits
 * removed (oldest first; never the open one). */
void evid_writer_tick(struct evid_writer *w, uint64_t unix_s);

void evid_writer_close(struct evid_writer *w);

/* One file, as listed. */
struct evid_file {
	char name[EVID_NAME_MAX];
	uint64_t size;
	uint64_t packets;
	uint64_t first_ns, last_ns; /* 0 without packets */
	bool torn;                  /* ends in a partial record */
	bool bad;                   /* no pcap header */
};

/* Reads one file's header and records (stops at a torn record). */
int evid_file_read(int dirfd, const char *name, struct evid_file *f);

/*
 * The evidence files of DIR, oldest first, at most MAX into OUT: their
 * count, 0 when DIR does not exist, -1 and errno.
 */
int evid_scan(const char *dir, struct evid_file *out, unsigned max);

/* Whether NAME is an evidence file's name. */
bool evid_name_ok(const char *name);

/* The evidence file names in folder DIRFD, sorted (oldest first): at
 * most MAX into OUT; their count, or -1 and errno. */
int evid_names(int dirfd, char (*out)[EVID_NAME_MAX], unsigned max);

#endif
