/* fail.h */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/util/fail.h"

int
fail_with(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return -1;
}
