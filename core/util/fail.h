/*
 * The error idiom (docs/STYLE: return -1 and set errno) with a message:
 * formats FMT into ERR (ERRLEN bytes; nothing when ERR is NULL or
 * ERRLEN 0), sets errno to ERRNUM, returns -1.  So a refusal is one
 * line: return fail_with(err, errlen, EINVAL, "bad %s", what);
 */
#ifndef CORDON_FAIL_H
#define CORDON_FAIL_H

#include <stddef.h>

int fail_with(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
