/*
 * The address a knock signs and the NAT pairings that may stand between
 * it and the packet's source (docs/knock.md, "The signed address").
 * The configuration holds the pairings, so the types live in its layer;
 * control/ident/knock.h (with OpenSSL's headers) builds on them.
 */
#ifndef CORDON_KNOCK_NAT_H
#define CORDON_KNOCK_NAT_H

#include <stdint.h>

#define KNOCK_ADDR_LEN 16 /* IPv4 in the first 4 bytes, then 0 */
#define KNOCK_NAT_MAX  16 /* pairings a configuration may allow */

/* An address prefix: AF 4 or 6, ADDR as in struct knock_msg. */
struct knock_pfx {
	uint8_t af;
	uint8_t plen;
	uint8_t addr[KNOCK_ADDR_LEN];
};

/*
 * A NAT the administrator allows: a knock whose signed address lies in
 * INSIDE may arrive from a source in OUTSIDE.
 */
struct knock_nat {
	struct knock_pfx inside, outside;
};

#endif
