/*
 * The control daemon's storage: committed revisions, per-admin
 * candidates and their edits, the commit-confirm state, and the
 * tamper-evident audit log.  Files only: no sockets, no daemon loop.
 *
 * A state folder (control.state_dir, /var/lib/cordon) holds
 *
 *     revisions/000042.conf   flattened libconfig text of revision 42
 *     revisions/000042.json   its metadata (struct store_meta)
 *     revisions/000043.staged a commit on its way (store_stage)
 *     candidates/UID.conf     "#cordon-base N" (the revision it was
 *                             copied from), then the candidate text
 *     confirm.json            a pending "commit confirmed"
 *     audit.log               JSON lines, hash-chained
 *     audit.head              the newest record's seq and hash
 *
 * Every file is replaced atomically (temporary file, fsync, rename,
 * fsync of the folder): a crash leaves the old file or the new one,
 * never half of one.  A revision exists once its .conf is in place; its
 * .json is written first.
 *
 * Functions return 0 or -1 with errno set (and a message in ERR when
 * they take one).  One process (cordond) writes a state folder.
 */
#ifndef CORDON_STORE_H
#define CORDON_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct store;

struct store_meta {
	uint64_t rev, base; /* base: the revision the change started from */
	int64_t time;       /* unix seconds */
	uid_t uid;
	pid_t pid;
	char kind[16]; /* "initial", "commit", "rollback", "revert"
	                  (confirm timeout) */
	char comment[256];
	/*
	 * Written only (store_stage, store_commit), may be NULL: the ids of
	 * the revision's rules, {"name": id}; read with store_rev_ids.
	 */
	const json_t *rule_ids;
};

/*
 * Opens state folder DIR, creating it and revisions/ and candidates/
 * (mode 0750) when missing.  Leftovers of an interrupted write (temporary
 * files, metadata of a revision whose text never landed) are removed.
 */
struct store *store_open(const char *dir, char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Without opening DIR (nothing created or repaired): its highest
 * committed revision into *RUNNING (0: none, also when DIR is missing)
 * and that revision's file into PATH.
 */
int store_peek(const char *dir, uint64_t *running, char *path, size_t len);

/* The state folder, as given to store_open. */
const char *store_dir(const struct store *s);
/* DIR/audit.log into BUF; -1 (ENAMETOOLONG) when it does not fit. */
int store_audit_path(const struct store *s, char *buf, size_t len);

/* Highest committed revision, 0 if none. */
uint64_t store_running(const struct store *s);
/* DIR/revisions/000042.conf into BUF; -1 (ENOENT) if REV is absent. */
int store_rev_path(const struct store *s, uint64_t rev, char *buf, size_t len);
/*
 * Metadata of REV; -1 (ENOENT) if REV is absent.  A revision whose .json
 * is missing or unreadable gets M->rev and kind "unknown", rest zero.
 */
int store_rev_meta(const struct store *s, uint64_t rev, struct store_meta *m);
/*
 * The stable ids of REV's rules as its metadata records them (a new
 * object {"name": id}, empty for a revision from before rule ids); -1
 * (ENOENT) if REV is absent.
 */
int store_rev_ids(const struct store *s, uint64_t rev, json_t **ids);
/*
 * Records IDS as REV's rule ids when its metadata has none (the initial
 * revision, written before its rules were compiled; one from before
 * rule ids): the metadata file is replaced whole.  0 or -1.
 */
int store_rev_ids_put(const struct store *s, uint64_t rev, const json_t *ids);
/* Up to MAX revisions' metadata, newest first; *N is how many. */
int store_rev_list(const struct store *s, struct store_meta *out, unsigned max,
    unsigned *n);
/* REV's text, malloc'd and NUL-terminated (not counted in *LEN). */
int store_rev_text(const struct store *s, uint64_t rev, char **text,
    size_t *len);
/*
 * Writes TEXT as revision running+1 with META (META->rev is filled in;
 * META->time too when it is 0), then keeps at most KEEP revisions
 * (0: all).  Pruning never removes the running revision nor the two a
 * pending confirm names.  On failure nothing new is visible.
 */
int store_commit(struct store *s, const char *text, size_t len,
    struct store_meta *meta, unsigned keep, char *err, size_t errlen);

/*
 * A commit in two steps, for a daemon that must write the audit record
 * and activate the revision in between: store_stage writes TEXT as
 * revisions/NNNNNN.staged with its metadata (META->rev = running+1),
 * which is not yet a revision; store_promote renames it to .conf (now
 * it is, and the running one) and prunes as store_commit does;
 * store_unstage removes it.  store_staged is the staged revision, 0 if
 * none: after store_open, one a crash left behind, for the daemon to
 * complete or undo (docs/control.md, recovery).
 */
int store_stage(struct store *s, const char *text, size_t len,
    struct store_meta *meta, char *err, size_t errlen);
int store_promote(struct store *s, unsigned keep, char *err, size_t errlen);
int store_unstage(struct store *s);
uint64_t store_staged(const struct store *s);
/*
 * The Ith repair store_open made (a half-written candidate set aside),
 * NULL past the last: for the daemon to log and audit.
 */
const char *store_notes(const struct store *s, unsigned i);

/*
 * Imports an admin-written config file as one self-contained text:
 * @include expanded, relative geo.databases[].file made absolute from
 * CONF_PATH's folder, written by libconfig.  *TEXT is malloc'd.
 * Comments are not kept (libconfig drops them).
 */
int store_flatten(const char *conf_path, char **text, size_t *len, char *err,
    size_t errlen);

/*
 * Candidates, one per uid.  store_cand_load returns UID's candidate, or,
 * when UID has none, a copy of the running revision (base = running; ""
 * and base 0 when nothing is committed) without writing it: a candidate
 * exists from its first store_cand_save.  *TEXT is malloc'd.
 */
int store_cand_load(struct store *s, uid_t uid, char **text, size_t *len,
    uint64_t *base);
int store_cand_save(struct store *s, uid_t uid, const char *text, size_t len,
    uint64_t base);
/*
 * Settles the candidates after a crash (store_open does it; again after
 * a staged revision is promoted at start): one whose base never landed
 * is set aside as UID.discarded, one that is the running revision's text
 * on an older base (committed, not yet dropped) is removed.  Each is a
 * store_notes entry.
 */
void store_cand_sweep(struct store *s);
/*
 * The rule identities UID's candidate pins (a new object {"name": id},
 * id 0: a new rule), kept in the candidate's file on the line after
 * its base, "#cordon-ids {...}": empty when none.  store_cand_save keeps
 * them; store_cand_save_ids replaces them (IDS NULL or empty: none).
 */
int store_cand_ids(const struct store *s, uid_t uid, json_t **ids);
int store_cand_save_ids(struct store *s, uid_t uid, const char *text,
    size_t len, uint64_t base, const json_t *ids);
/* Removes UID's candidate; 0 also when it had none. */
int store_cand_drop(struct store *s, uid_t uid);
/* 1 if UID has a saved candidate, else 0. */
int store_cand_exists(const struct store *s, uid_t uid);

/*
 * confirm.json: revision REV was committed with "commit confirmed" and
 * is reverted to PREV unless confirmed by DEADLINE (unix seconds).
 * CLOCK (may be NULL): more members the caller keeps with it (cordond:
 * the deadline in boot time and the boot id), read back by
 * store_confirm_get into *CLOCK (the whole object; NULL: not wanted).
 */
int store_confirm_arm(struct store *s, uint64_t rev, uint64_t prev,
    int64_t deadline_unix, const json_t *clock);
/* -1 with errno ENOENT if none is pending (EINVAL if the file is bad). */
int store_confirm_get(const struct store *s, uint64_t *rev, uint64_t *prev,
    int64_t *deadline, json_t **clock);
/* 0 also when none was pending. */
int store_confirm_clear(struct store *s);

/*
 * Candidate edits on config text.  ATTRS is a JSON object (what
 * cordonctl sends); *OUT is the edited text (malloc'd), well-formed
 * libconfig but not validated: the commit validates.
 *
 *   kind      name     attrs
 *   rule      NAME     src, dst, services (string or array of strings),
 *                      proto (string or array), ports (array of "22",
 *                      "80-90" or numbers), direction, action, nexthop
 *                      (strings), log (bool), position (1-based: where
 *                      the rule goes; default: where it was, else last)
 *   region    NAME     countries (array of codes)
 *   service   NAME     proto, ports
 *   override  PREFIX   country
 *   nexthop   NAME     port, mac (strings), vlan (integer)
 *   default   (unused) action, log
 *
 * cand_set replaces the whole object with the attrs given (a JSON null
 * counts as not given); cand_delete removes it, "no rule named X" and
 * errno ENOENT when there is none.
 */
int cand_set(const char *text, const char *kind, const char *name,
    const json_t *attrs, char **out, char *err, size_t errlen);
int cand_delete(const char *text, const char *kind, const char *name,
    char **out, char *err, size_t errlen);
/*
 * Renames rule NAME to TO (KIND must be "rule"), keeping its place and
 * body: ENOENT when there is no NAME, EEXIST when TO is taken.
 */
int cand_rename(const char *text, const char *kind, const char *name,
    const char *to, char **out, char *err, size_t errlen);

/*
 * Stored texts are flattened: an @include line would be read relative
 * to the daemon's folder, so a text holding one is refused
 * ("LABEL:LINE: ..."), 0 otherwise.
 */
int cand_include_check(const char *text, const char *label, char *err,
    size_t errlen);

/*
 * Whether configs A and B have the same groups of those only root may
 * change (control, dataplane, evidence; cand_root.c): 1, or 0 with
 * *WHICH the first that differs; -1 when either does not parse.
 */
int cand_root_same(const char *a, const char *b, const char **which);

/*
 * load merge (docs/control.md "load"): the settings of FILE (config
 * text; LABEL names it in errors, "LABEL:LINE: ...") merged onto TEXT:
 * a group merges member by member; a member of regions or services,
 * and an element of a list of named groups (rules, ports, next_hops by
 * "name"; geo.overrides by "prefix"), is replaced whole when its name
 * is there and appended otherwise; any other value (a scalar, an array,
 * another list) replaces.  Nothing is removed.  *OUT is malloc'd.
 */
int cand_merge(const char *text, const char *file, const char *label,
    char **out, char *err, size_t errlen);

/*
 * Line-based unified diff of A to B (Myers, 3 lines of context, "---",
 * "+++" and "@@" headers); *OUT is malloc'd, "" when A equals B.
 */
int diff_unified(const char *a, const char *b, const char *label_a,
    const char *label_b, char **out);

/*
 * Three-way merge of lines (diff3): the changes from BASE to MINE
 * replayed onto THEIRS.  Where both changed the same base lines (or
 * inserted at the same place) differently it refuses: -1 with EEXIST
 * and ERR naming the lines ("base 30-31: running 30-38 \"...\",
 * candidate 30-33 \"...\"").  *OUT is malloc'd.
 */
int merge3(const char *base, const char *mine, const char *theirs, char **out,
    char *err, size_t errlen);

/*
 * The audit log: one JSON record per line, fields seq (1-based), time
 * (unix seconds), time_iso, boot (the kernel's boot id), uptime_ms
 * (CLOCK_BOOTTIME), uid, pid, cmd, revision, result ("ok",
 * "refused: reason" or "undone: reason"), diff, prev (hex SHA-256 of
 * the previous line's bytes without its newline; 64 zeros for the
 * first) and hash (hex
 * SHA-256 of the record without "hash", as json_dumps(JSON_SORT_KEYS |
 * JSON_COMPACT) writes it).
 */
struct audit_rec {
	const char *cmd, *result, *diff; /* diff may be NULL: "" */
	uid_t uid;
	pid_t pid;
	uint64_t revision;
};

#define AUDIT_HASH_HEX 64

/* The newest record: what audit.head holds and syslog repeats. */
struct audit_head {
	uint64_t seq;                  /* 0: no record */
	char hash[AUDIT_HASH_HEX + 1]; /* its "hash" field */
};

/*
 * Appends R (seq, time, prev and hash computed here) with one write,
 * then fsync, then replaces the head file beside the log (audit.head)
 * with the new record's seq and hash; *OUT (may be NULL) gets them too.
 * Whole or absent: a write or fsync that fails cuts the log back to its
 * length before, and -1.  A partial line a crash left at the end is cut
 * first and an "audit-repair" record appended (audit_repair).  Refuses
 * to extend a log whose last whole line is not a record, or whose last
 * record is neither the head nor the one after it (records removed: run
 * audit_verify).  A head that cannot be written after the record landed
 * is left one behind; the next append repairs it.
 */
int audit_append(const char *path, const struct audit_rec *r,
    struct audit_head *out, char *err, size_t errlen);
/*
 * Whether audit_append would extend PATH: its last line is a whole
 * record and that record is the head or the one after it.  0, or -1
 * with ERR (run audit_verify).  A head one behind is caught up here, as
 * audit_append would first do: a head that cannot be written (a full
 * disk) is a refusal now, not a record lost after the change is made.
 */
int audit_ready(const char *path, char *err, size_t errlen);
/*
 * Recomputes the chain, then holds its end against audit.head.  0 when
 * intact (*CHECKED records; no log and no head is an empty log).  -1 at
 * the first bad record: *BAD_SEQ is its seq (0 for a line that is not a
 * record; for records missing at the end, the first missing one), ERR
 * says what.  The head may be one record behind the log (a crash
 * between the two writes), never ahead; a head that is missing while
 * the log has records is a failure.
 */
int audit_verify(const char *path, uint64_t *checked, uint64_t *bad_seq,
    char *err, size_t errlen);
/*
 * audit_verify, and WARN (a JSON array, may be NULL) gets a string for
 * each pair of consecutive records whose wall time goes backwards:
 * records carry the boot id and time since boot too, so a clock stepped
 * back is told from records out of order.  Warnings do not fail it.
 */
int audit_verify_warn(const char *path, uint64_t *checked, uint64_t *bad_seq,
    json_t *warn, char *err, size_t errlen);
/*
 * A partial record at the end of PATH (a crash while appending) is cut
 * off, and a record "audit-repair" says how many bytes at what offset.
 * 1 when cut, 0 when the log ends in a whole record (or is missing), -1
 * with ERR.  audit_append and audit_ready do this first by themselves.
 */
int audit_repair(const char *path, char *err, size_t errlen);
/* DIR/audit.head for log DIR/audit.log ("X" -> "X.head" otherwise). */
int audit_head_path(const char *log, char *buf, size_t len);
/* The head file of LOG; -1 with ENOENT, or EBADMSG when malformed. */
int audit_head_read(const char *log, struct audit_head *h);
/*
 * For a log from before audit.head existed (cordond's start): when the
 * head is missing and the chain verifies, writes it from the last
 * record (*OUT).  1 when adopted, 0 when nothing to do, -1 with ERR.
 */
int audit_head_adopt(const char *log, struct audit_head *out, char *err,
    size_t errlen);
/* The last MAX records (0: all) as a new JSON array, newest last. */
int audit_list(const char *path, json_t **records, unsigned max);

/* PATH's contents, malloc'd, NUL-terminated (not counted in *LEN). */
int store_file_read(const char *path, char **buf, size_t *len);
/*
 * Replaces PATH with LEN bytes of BUF: PATH.tmp, every byte written
 * (short writes retried; ENOSPC, EIO fail), fsync, close, rename, fsync
 * of the folder.  The one way files in the state folder are written.  On
 * failure PATH.tmp is removed and PATH is untouched, except when only
 * the folder's fsync failed: then PATH is new but may not survive a
 * crash, and -1 tells the caller not to rely on it.
 */
int store_file_write(const char *path, const void *buf, size_t len);

#endif
