/*
 * RFC 5424 message formatting for cordond's syslog and cordon-dp's
 * fallback (wire/dpc_record.h): a pure function over explicit lengths
 * (no daemon state, no I/O), fuzzed on its own
 * (tests/fuzz/fuzz_syslog.c) and unit-tested (tests/unit/test_syslog_fmt.c).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID k="v" ...] MSG
 */
#ifndef CORDON_SL_FMT_H
#define CORDON_SL_FMT_H

#include <stddef.h>
#include <stdint.h>

#define SL_SD_ID   "cordon@32473" /* enterprise 32473: RFC 5612 */
#define SL_MSG_MAX 2048           /* bytes of one formatted message */
#define SL_MSG_MIN 640            /* room for the longest header */

/* RFC 5424 severities. */
enum sl_severity {
	SL_EMERG,
	SL_ALERT,
	SL_CRIT,
	SL_ERR,
	SL_WARNING,
	SL_NOTICE,
	SL_INFO,
	SL_DEBUG
};

struct sl_param {
	const char *name;  /* SD-NAME: 1-32 printable ASCII, not = ] " SP */
	const char *value; /* any bytes; escaped, made valid UTF-8 */
};

struct sl_msg {
	unsigned facility; /* 0-23 */
	unsigned severity; /* enum sl_severity */
	int64_t unix_us;   /* timestamp; < 0: the nil value "-" */
	const char *host;  /* NULL or "": "-" */
	const char *app;
	const char *procid;
	const char *msgid;
	const struct sl_param *sd; /* NSD params in one SD-ELEMENT */
	unsigned nsd;
	const char *msg; /* NULL: no MSG part */
};

/*
 * Writes M into BUF (LEN bytes, at least SL_MSG_MIN) as one RFC 5424 message,
 * NUL-terminated.  Header fields are cut to their RFC lengths with bytes
 * outside printable ASCII replaced by '_'; a param with a bad name is
 * renamed ('_' for bad bytes) rather than dropped; values escape '"',
 * '\' and ']' and replace control bytes and invalid UTF-8 with '?'.
 * When the message would not fit, params that do not fit are left out
 * and the MSG is cut, so the result is always well-formed.  Returns its length
 * (without the NUL), or -1 (EINVAL) when LEN is too small.
 */
long sl_format(const struct sl_msg *m, char *buf, size_t len);

/*
 * Escapes IN (INLEN bytes) as a PARAM-VALUE into OUT (OUTLEN bytes,
 * NUL-terminated).  Returns the length written, or -1 when it did not
 * fit (OUT then holds nothing useful).
 */
long sl_escape_value(const char *in, size_t inlen, char *out, size_t outlen);

/* "2024-05-01T12:00:00.123456Z" for unix microseconds US (28 bytes). */
void sl_timestamp(int64_t us, char out[32]);

#endif
