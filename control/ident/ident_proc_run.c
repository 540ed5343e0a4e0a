/*
 * The identity child's main (proc_def.run, `cordond -P identity`): what
 * would be read from disk is read, then the sandbox, then the loop
 * (ident_proc.c).  On its own so that the fuzz harness links the loop
 * without the sandbox.
 */
#include <openssl/crypto.h>

#include "control/ident/ident_proc.h"

/* Beyond proc_sandbox's common list: nothing but memory and time. */
static const char *const ident_syscalls[] = { "getrandom", "madvise", "mremap",
	"clock_gettime", "gettimeofday", NULL };

int
ident_proc_run(int fd)
{
	/* Everything OpenSSL would read from disk, read now. */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG |
	                        OPENSSL_INIT_ADD_ALL_CIPHERS |
	                        OPENSSL_INIT_ADD_ALL_DIGESTS,
	    NULL);
	/* jansson seeds its hash tables from /dev/urandom at first use. */
	json_object_seed(0);
	if (proc_sandbox(proc_defs[PROC_IDENT], ident_syscalls, NULL, 0) < 0)
		return 1;
	if (proc_send(fd, PROC_T_READY, 0, NULL, 0, -1) < 0)
		return 1;
	return ident_chan_loop(fd, ident_dispatch);
}
