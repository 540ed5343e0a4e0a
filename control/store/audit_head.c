/*
 * The audit log's head: the newest record's seq and hash, kept beside
 * the log in its own file (audit.head) and replaced atomically after
 * each append.  Deleting lines from the end of the log cannot reach it,
 * so audit_verify can tell a log that was cut short from a short log.
 *
 * The log line is written (and synced) first, the head second: a crash
 * or a full disk in between leaves the head one record behind the log,
 * never ahead.  audit_verify accepts exactly that, and the next append
 * brings the head up to date before it extends the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

/* "DIR/audit.log" -> "DIR/audit.head"; other names get ".head" added. */
int
audit_head_path(const char *log, char *buf, size_t len)
{
	size_t n = strlen(log);

	if (n >= 4 && strcmp(log + n - 4, ".log") == 0)
		n -= 4;
	if (snprintf(buf, len, "%.*s.head", (int)n, log) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static bool
audit_head_hex_ok(const char *s)
{
	if (s == NULL || strlen(s) != AUDIT_HASH_HEX)
		return false;
	return strspn(s, "0123456789abcdef") == AUDIT_HASH_HEX;
}

int
audit_head_read(const char *log, struct audit_head *h)
{
	char path[PATH_MAX], *buf;
	json_t *o, *js;
	const char *hash;

	if (audit_head_path(log, path, sizeof(path)) < 0 ||
	    store_file_read(path, &buf, NULL) < 0)
		return -1;
	o = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	js = json_object_get(o, "seq");
	hash = json_string_value(json_object_get(o, "hash"));
	if (!json_is_integer(js) || json_integer_value(js) < 1 ||
	    !audit_head_hex_ok(hash)) {
		json_decref(o);
		errno = EBADMSG;
		return -1;
	}
	h->seq = (uint64_t)json_integer_value(js);
	memcpy(h->hash, hash, AUDIT_HASH_HEX + 1);
	json_decref(o);
	return 0;
}

int
audit_head_write(const char *log, const struct audit_head *h)
{
	char path[PATH_MAX], buf[160];
	int n;

	if (audit_head_path(log, path, sizeof(path)) < 0)
		return -1;
	n = snprintf(buf, sizeof(buf),
	    "{\"seq\":%" PRIu64 ",\"hash\":\"%s\"}\n", h->seq, h->hash);
	if (n < 0 || n >= (int)sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	return store_file_write(path, buf, (size_t)n);
}

/*
 * Before an append: the log's last record TAIL (seq 0: empty log) must
 * be the head or the one record after it (then, with REPAIR, the head
 * catches up first).  Anything else means records went missing since
 * the last append: refused, so the chain is never extended over the gap.
 */
int
audit_head_sync(const char *log, const struct audit_head *tail, bool repair,
    char *err, size_t errlen)
{
	struct audit_head h;

	if (audit_head_read(log, &h) < 0) {
		if (errno == ENOENT && tail->seq == 0)
			return 0;
		snprintf(err, errlen, "%s: audit.head %s; run audit verify",
		    log, errno == ENOENT ? "missing" : "unreadable");
		return -1;
	}
	if (tail->seq == h.seq && strcmp(tail->hash, h.hash) == 0)
		return 0;
	if (tail->seq == h.seq + 1) {
		if (!repair || audit_head_write(log, tail) == 0)
			return 0;
		snprintf(err, errlen, "%s: audit.head: %s", log,
		    strerror(errno));
		return -1;
	}
	snprintf(err, errlen,
	    "%s: ends at record %" PRIu64 " but audit.head "
	    "names record %" PRIu64 "; run audit verify",
	    log, tail->seq, h.seq);
	errno = EBADMSG;
	return -1;
}

/* The rule of audit_verify for the head, given the log's last two. */
static int
audit_head_judge(const struct audit_head *h, const struct audit_head *last,
    const struct audit_head *before, uint64_t *bad_seq, char *err,
    size_t errlen)
{
	const struct audit_head *at = last->seq == h->seq       ? last
	                              : last->seq == h->seq + 1 ? before
	                                                        : NULL;

	if (at != NULL && at->seq == h->seq && strcmp(at->hash, h->hash) == 0)
		return 0;
	if (at != NULL) {
		*bad_seq = h->seq;
		snprintf(err, errlen,
		    "record %" PRIu64 ": hash differs from "
		    "audit.head's",
		    h->seq);
	} else if (last->seq < h->seq) {
		*bad_seq = last->seq + 1;
		snprintf(err, errlen,
		    "records %" PRIu64 "..%" PRIu64
		    " missing: the log ends at %" PRIu64 " but audit.head "
		    "names %" PRIu64,
		    last->seq + 1, h->seq, last->seq, h->seq);
	} else {
		*bad_seq = h->seq + 2;
		snprintf(err, errlen,
		    "audit.head names record %" PRIu64
		    ", more than one behind the log's last (%" PRIu64 ")",
		    h->seq, last->seq);
	}
	return -1;
}

int
audit_head_check(const char *log, const struct audit_head *last,
    const struct audit_head *before, uint64_t *bad_seq, char *err,
    size_t errlen)
{
	struct audit_head h;

	if (audit_head_read(log, &h) == 0)
		return audit_head_judge(&h, last, before, bad_seq, err, errlen);
	if (errno == ENOENT && last->seq == 0)
		return 0;
	*bad_seq = last->seq + 1;
	snprintf(err, errlen,
	    "audit.head %s: records after %" PRIu64 " may be missing",
	    errno == ENOENT ? "missing" : "unreadable", last->seq);
	return -1;
}

/*
 * A log written before audit.head existed: its head is taken from its
 * last record, once, if the chain verifies.  1 when adopted, 0 when
 * there was nothing to do, -1 with ERR.
 */
int
audit_head_adopt(const char *log, struct audit_head *out, char *err,
    size_t errlen)
{
	struct audit_head h, tail[2];
	uint64_t checked, bad;

	if (audit_head_read(log, &h) == 0 || errno != ENOENT)
		return 0;
	if (audit_verify_chain(log, &checked, &bad, tail, NULL, err, errlen) <
	    0)
		return -1;
	*out = tail[0];
	if (checked == 0)
		return 0;
	if (audit_head_write(log, out) < 0) {
		snprintf(err, errlen, "%s: audit.head: %s", log,
		    strerror(errno));
		return -1;
	}
	return 1;
}
