/*
 * control.logging: cordond's syslog (docs/config.md, "control.logging").
 * Plain structs filled by config/load/conf_logging.c; cordond's
 * control/daemon/cd_syslog*.c act on them.
 */
#ifndef CORDON_CONF_LOGGING_H
#define CORDON_CONF_LOGGING_H

#include <stdio.h>

#define CONF_LOG_TARGET_MAX 8
#define CONF_LOG_ADDR_MAX   108 /* a unix socket path fits */
#define CONF_LOG_FILE_MAX   256

enum conf_log_type {
	CONF_LOG_LOCAL, /* unix datagram socket, /dev/log */
	CONF_LOG_UDP,   /* RFC 5426 */
	CONF_LOG_TCP,   /* RFC 6587, octet counting */
	CONF_LOG_TLS,   /* RFC 5425 */
};

struct conf_log_target {
	enum conf_log_type type;
	char address[CONF_LOG_ADDR_MAX]; /* numeric IP, or socket path */
	unsigned port;
	char ca[CONF_LOG_FILE_MAX];   /* tls: CA certificates (PEM) */
	char name[256];               /* tls: name the server's cert must
					   carry; "": its address */
	char cert[CONF_LOG_FILE_MAX]; /* tls: optional client cert */
	char key[CONF_LOG_FILE_MAX];
	unsigned queue; /* messages waiting, at most */
	int line;
};

struct conf_logging {
	unsigned facility; /* RFC 5424 code, default 16 (local0) */
	unsigned window;   /* seconds of aggregation; 0: none */
	unsigned rate;     /* packet records per second, at most */
	unsigned ntargets;
	struct conf_log_target target[CONF_LOG_TARGET_MAX];
	int line; /* 0 when not written */
};

const char *conf_log_type_name(enum conf_log_type t);
const char *conf_facility_name(unsigned code);
void conf_logging_defaults(struct conf_logging *l);
void conf_logging_print(const struct conf_logging *l, FILE *f);

#endif
