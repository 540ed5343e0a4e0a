/*
 * Internals shared by the files of control/store: whole-file I/O and the
 * libconfig text writer.  Not for use outside control/store/.
 */
#ifndef CORDON_STORE_INT_H
#define CORDON_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <jansson.h>
#include <libconfig.h>

#define STORE_TMP_SUFFIX ".tmp"

/* Writes all LEN bytes of P to FD, retrying short writes. 0 or -1. */
int store_write_all(int fd, const char *p, size_t len);
/* fsync of the folder that holds PATH. */
int store_dir_sync(const char *path);

/*
 * store_state.c: strips the "#cordon-base N" line off a candidate's text
 * in BUF (*LEN adjusted), its N into *BASE; -1 if there is none.
 */
int store_cand_split(char *buf, size_t *len, uint64_t *base);
struct store;
/* A repair store_open made, for the daemon to log and audit. */
void store_note(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * diff.c: the line matching of A to B that diff_unified prints: for each
 * of A's *NA lines, the index of the equal B line it is kept as, or -1
 * (deleted).  *MAP is malloc'd, increasing where not -1.
 */
int diff_map(const char *a, const char *b, long **map, long *na);
/*
 * After a clean merge3 of BASE, MINE and THEIRS into OUT: -1 (errno
 * EEXIST, ERR the conflict) when a named object one side deleted is in
 * OUT (the other side moved it); 0 otherwise (merge_names.c).
 */
int merge_names_check(const char *base, const char *mine, const char *theirs,
    const char *out, char *err, size_t errlen);

/* CFG as text (config_write), malloc'd and NUL-terminated. */
int store_config_text(const config_t *cfg, char **out, size_t *len);

/* audit_head.c: the head file beside the audit log. */
struct audit_head;
int audit_head_write(const char *log, const struct audit_head *h);
/* Before an append: TAIL must be the head or one after it. 0 or -1. */
int audit_head_sync(const char *log, const struct audit_head *tail, bool repair,
    char *err, size_t errlen);
/* audit_verify's rule for the head against the log's last two records. */
int audit_head_check(const char *log, const struct audit_head *last,
    const struct audit_head *before, uint64_t *bad_seq, char *err,
    size_t errlen);
/*
 * audit.c: the chain alone; TAIL[0] is its last record, TAIL[1] the one
 * before (seq 0: none).
 */
int audit_verify_chain(const char *path, uint64_t *checked, uint64_t *bad_seq,
    struct audit_head *tail, json_t *warn, char *err, size_t errlen);

/* audit_repair.c: FD (the log) cut back to SIZE bytes, synced. */
int audit_cut_to(int fd, off_t size);
/*
 * A partial record at the end of FD (bytes after its last newline) cut
 * off: *CUT bytes at offset *AT (0: nothing to cut).  0 or -1.
 */
int audit_torn_cut(int fd, off_t *cut, off_t *at);
/* Only finds it: *CUT bytes after offset *AT. */
int audit_torn_find(int fd, off_t *cut, off_t *at);

/* audit_clock.c: a record's wall and boot clocks. */
struct audit_clock {
	int64_t time;      /* unix seconds */
	char boot[40];     /* the kernel's boot id; "" unknown */
	int64_t uptime_ms; /* CLOCK_BOOTTIME; -1 unknown */
};
void audit_clock_now(struct audit_clock *c);
void audit_clock_get(json_t *rec, struct audit_clock *c);
void audit_clock_check(const struct audit_clock *a, const struct audit_clock *b,
    uint64_t seq, json_t *warn);

/*
 * cand_copy.c: adds a deep copy of S (a scalar, group, list or array)
 * under PARENT, with S's name when PARENT is a group.  0 or -1.
 */
#include <libconfig.h>
int cand_setting_copy(config_setting_t *parent, const config_setting_t *s);

#endif
