/*
 * control.prometheus: cordond's optional HTTP listener for Prometheus
 * (docs/config.md).  Absent means off.  The address is numeric and
 * explicit: a wildcard would publish the counters on every interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_prom_keys[] = { "listen", NULL };

/* "PORT" (1-65535) into *PORT; -1 when it is not one. */
static int
conf_port_parse(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
conf_listen_fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	errno = EINVAL;
	return -1;
}

int
conf_listen_parse(const char *s, struct sockaddr_storage *ss, unsigned *sslen,
    char *why, size_t whylen)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	uint16_t port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || conf_port_parse(colon + 1, &port) < 0)
		return conf_listen_fail(why, whylen,
		    "must be ADDRESS:PORT "
		    "(\"127.0.0.1:9477\", \"[::1]:9477\"), port 1-65535");
	if ((n = (size_t)(colon - s)) >= sizeof(host))
		return conf_listen_fail(why, whylen, "address too long");
	memcpy(host, s, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return conf_listen_fail(why, whylen,
			    "not a numeric "
			    "IPv6 address inside [ ]");
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			goto wildcard;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sslen = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return conf_listen_fail(why, whylen,
		    "not a numeric IPv4 "
		    "address (IPv6 goes inside [ ])");
	if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
		goto wildcard;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*sslen = sizeof(*s4);
	return 0;
wildcard:
	return conf_listen_fail(why, whylen,
	    "a wildcard address is not "
	    "allowed: name the loopback or one local address");
}

int
conf_prom_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_control *ctl)
{
	const config_setting_t *p = config_setting_get_member(s, "prometheus");
	struct sockaddr_storage ss;
	unsigned len;
	char why[160];

	if (p == NULL)
		return 0;
	if (conf_group_check(x, p, conf_prom_keys) < 0 ||
	    conf_str_get(x, p, "listen", true, ctl->prom_listen,
	        sizeof(ctl->prom_listen)) < 0)
		return -1;
	if (conf_listen_parse(ctl->prom_listen, &ss, &len, why, sizeof(why)) <
	    0)
		return conf_err(x, config_setting_get_member(p, "listen"),
		    "control.prometheus.listen \"%s\": %s", ctl->prom_listen,
		    why);
	return 0;
}

void
conf_prom_print(const struct conf_control *ctl, FILE *f)
{
	fprintf(f, "    prometheus %s\n",
	    ctl->prom_listen[0] ? ctl->prom_listen : "off");
}
