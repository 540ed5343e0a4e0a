/*
 * Framing of the dataplane channel, shared by cordon-dp and cordond:
 * pure functions over bytes with explicit lengths.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire/dpc_proto.h"
#include "core/util/fail.h"

long
dpc_msg_payload_size(unsigned type)
{
	switch (type) {
	case DPC_HELLO:
	case DPC_STATUS:
		return 0;
	case DPC_HELLO_REPLY:
	case DPC_STATUS_REPLY:
		return sizeof(struct dpc_msg_status);
	case DPC_LOAD:
		return sizeof(struct dpc_msg_load);
	case DPC_LOAD_REPLY:
	case DPC_SYSLOG_REPLY:
	case DPC_ERR:
		return sizeof(struct dpc_msg_result);
	case DPC_EVENT:
		return sizeof(struct dpc_msg_event);
	case DPC_KNOCK:
		return sizeof(struct dpc_msg_knock);
	case DPC_EVIDENCE:
		return sizeof(struct dpc_msg_evidence);
	case DPC_SYSLOG:
		return sizeof(struct dpc_msg_syslog);
	default:
		return -1;
	}
}

long
dpc_msg_pack(void *buf, unsigned type, uint32_t seq, const void *payload,
    size_t len)
{
	struct dpc_hdr h = { DPC_MAGIC, (uint16_t)type, 0, (uint32_t)len, seq };

	if (len > DPC_MSG_MAX - sizeof(h)) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((uint8_t *)buf + sizeof(h), payload, len);
	return (long)(sizeof(h) + len);
}

int
dpc_msg_check(const void *buf, size_t n, struct dpc_hdr *hdr, char *err,
    size_t errlen)
{
	long want;

	memset(hdr, 0, sizeof(*hdr));
	if (n < sizeof(*hdr))
		return fail_with(err, errlen, EBADMSG,
		    "short message: %zu "
		    "bytes",
		    n);
	memcpy(hdr, buf, sizeof(*hdr));
	if (hdr->magic != DPC_MAGIC)
		return fail_with(err, errlen, EBADMSG, "bad magic %#x",
		    hdr->magic);
	if (n > DPC_MSG_MAX)
		return fail_with(err, errlen, EBADMSG,
		    "oversized message: "
		    "more than %u bytes",
		    DPC_MSG_MAX);
	if (hdr->len != n - sizeof(*hdr))
		return fail_with(err, errlen, EBADMSG,
		    "length %u, but %zu "
		    "payload bytes arrived",
		    hdr->len, n - sizeof(*hdr));
	if (hdr->flags != 0)
		return fail_with(err, errlen, EBADMSG, "unknown flags %#x",
		    hdr->flags);
	if ((want = dpc_msg_payload_size(hdr->type)) < 0)
		return fail_with(err, errlen, EBADMSG,
		    "unknown message type "
		    "%u",
		    hdr->type);
	if (hdr->len != (unsigned long)want)
		return fail_with(err, errlen, EBADMSG,
		    "message type %u: "
		    "payload of %u bytes, expected %ld",
		    hdr->type, hdr->len, want);
	return 0;
}

void
dpc_result_set(struct dpc_msg_result *r, int error, const char *fmt, ...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->error = error;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* One target: its type, port and address. */
static int
dpc_syslog_target_check(const struct dpc_wire_log_target *t, unsigned i,
    char *err, size_t errlen)
{
	size_t n = strnlen(t->address, sizeof(t->address));
	uint8_t a[16];

	if (t->type < DPC_LOG_LOCAL || t->type > DPC_LOG_TLS)
		return fail_with(err, errlen, EINVAL,
		    "syslog target %u: type %u", i + 1, t->type);
	if (n == 0 || n == sizeof(t->address))
		return fail_with(err, errlen, EINVAL,
		    "syslog target %u: address empty or not terminated", i + 1);
	if (t->type == DPC_LOG_LOCAL)
		return 0;
	if (t->port == 0 || t->port > 65535)
		return fail_with(err, errlen, EINVAL,
		    "syslog target %u: port %u", i + 1, t->port);
	if (t->type == DPC_LOG_UDP && inet_pton(AF_INET, t->address, a) != 1 &&
	    inet_pton(AF_INET6, t->address, a) != 1)
		return fail_with(err, errlen, EINVAL,
		    "syslog target %u: %.40s is not a numeric address", i + 1,
		    t->address);
	return 0;
}

int
dpc_syslog_check(const struct dpc_msg_syslog *m, char *err, size_t errlen)
{
	if (m->version != DPC_PROTO_VERSION)
		return fail_with(err, errlen, EPROTO,
		    "protocol version %u, cordon-dp speaks %u", m->version,
		    DPC_PROTO_VERSION);
	if (m->facility > 23)
		return fail_with(err, errlen, EINVAL, "syslog facility %u",
		    m->facility);
	if (m->rate == 0 || m->rate > 100000)
		return fail_with(err, errlen, EINVAL, "syslog rate %u",
		    m->rate);
	if (m->ntargets > DPC_SYSLOG_TARGETS)
		return fail_with(err, errlen, EINVAL, "%u syslog targets",
		    m->ntargets);
	for (unsigned i = 0; i < m->ntargets; i++)
		if (dpc_syslog_target_check(&m->target[i], i, err, errlen) < 0)
			return -1;
	return 0;
}
