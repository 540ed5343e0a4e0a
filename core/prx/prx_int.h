/* Helpers the proxy header parsers share (core/prx only). */
#ifndef CORDON_PRX_INT_H
#define CORDON_PRX_INT_H

#include <stdint.h>

/* An address of family AF (4 or 6) from S (LEN bytes, no NUL) into OUT
 * (network order): 0, or -1 when it is not one. */
int prx_ip_pton(const char *s, uint32_t len, uint8_t af, uint8_t *out);

/* A decimal port of 1 to 5 digits, at most 65535 (STRICT: no leading
 * zero, as PROXY v1 says): 0, or -1. */
int prx_port_num(const char *s, uint32_t len, int strict, uint16_t *port);

#endif
