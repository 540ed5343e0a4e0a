/*
 * The one hash of the channel: SHA-256 (OpenSSL EVP), used by cordon-dp
 * to report and check what it enforces and by cordond to compare.
 */
#include <string.h>

#include <openssl/evp.h>

#include "core/policy/policy.h"
#include "wire/dpc_proto.h"

int
dpc_sha256(const void *p, size_t len, uint8_t out[DPC_WIRE_HASH])
{
	unsigned int n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != DPC_WIRE_HASH) {
		memset(out, 0, DPC_WIRE_HASH);
		return -1;
	}
	return 0;
}

void
dpc_policy_hash(const struct policy *p, uint8_t out[DPC_WIRE_HASH])
{
	(void)dpc_sha256(p, sizeof(*p), out);
}
