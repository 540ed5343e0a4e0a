/*
 * cordond's small helpers, shared by most of its files and free of the
 * daemon's state (struct cd): logging, the error of a failed request,
 * reply objects, the records of boot-time deadlines, and how countries
 * and references are written.  A file that needs only these includes
 * this header, not cordond.h.
 */
#ifndef CORDON_CD_UTIL_H
#define CORDON_CD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/geo/geo_build.h"
#include "config/load/conf.h"
#include "core/util/clock.h"

#define CD_SCHEMA 1

/* cd_util.c: stderr, which systemd sends to the journal */
void cd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cd_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool cd_debug_on;

/* A failed request: a docs/control.md error code and a message. */
struct cd_err {
	const char *code;
	char msg[1024];
};

/* Fills E with CODE and the message; returns -1. */
int cd_fail(struct cd_err *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A reply's data object: {"schema": CD_SCHEMA}. */
json_t *cd_obj(void);
/* N bytes of B as 2N hex digits and a NUL into OUT. */
void cd_hex(const uint8_t *b, size_t n, char *out);

/*
 * cd_clock.c: deadlines on CLOCK_BOOTTIME (docs/identity.md "Clocks").
 * A deadline written down earlier: boot time BOOT in boot BOOT_ID, and
 * the wall-clock second UNIX_S it was then.
 */
struct cd_clock_rec {
	char boot_id[40];
	int64_t boot, unix_s;
};
/* The wall-clock second that boot-time second B is (or was) now. */
int64_t cd_boot_to_unix(int64_t b);
/* R's deadline in this boot's boot time: exact when R is of this boot,
 * else mapped from its wall-clock time. */
int64_t cd_clock_back(const struct cd_clock_rec *r, const char *boot_id,
    int64_t now_unix, int64_t now_boot);
/* Writes boot time BOOT into O as KEY (wall clock), KEY_boot, boot_id;
 * cd_clock_get reads it back with cd_clock_back. */
void cd_clock_put(json_t *o, const char *key, int64_t boot);
int64_t cd_clock_get(const json_t *o, const char *key);

/*
 * cd_fmt.c: configured countries and references as words separated by
 * spaces ("any", a region's name, "special", a country via
 * geo_cc_name); cd_word appends one word to OUT (LEN bytes).
 */
void cd_word(char *out, size_t len, const char *w);
void cd_ccset_str(const struct conf_ccset *s, char *out, size_t len);
void cd_refs_str(const struct conf *c, const struct conf_ref *ref, unsigned n,
    char *out, size_t len);
/* The name a packet record (syslog, monitor) gives a rule position
 * (POL_RULE_DEFAULT: "(default)"); BUF holds "#N" for an unknown one. */
struct policy;
const char *cd_rule_name(const struct policy *p, unsigned rule, char buf[16]);
/* The newest build_epoch of DB's sources, and each source as JSON. */
int64_t cd_geo_epoch(const struct geo_db *db);
json_t *cd_geo_layers(const struct geo_db *db);

#endif
