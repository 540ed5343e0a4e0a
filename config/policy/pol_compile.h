#ifndef CORDON_POL_COMPILE_H
#define CORDON_POL_COMPILE_H

#include <stddef.h>

#include "config/load/conf.h"
#include "core/policy/policy.h"

/*
 * Compiles a validated config into P (caller-allocated, large).
 * PORT_IDS maps config port index -> DPDK port id (NULL: identity, as in
 * replay).  Returns 0, or -1 with a message in ERR (too many port
 * classes, ...).
 */
int pol_compile(const struct conf *c, const uint16_t *port_ids,
    struct policy *p, char *err, size_t errlen);

/* The proxy settings of C into P (docs/proxies.md): the mode of each
 * TCP port of a proxied service, the relays believed, window, actions. */
void pol_proxy_compile(const struct conf *c, struct policy *p);

#endif
