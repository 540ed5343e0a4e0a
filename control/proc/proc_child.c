/*
 * `cordond -P NAME`: a child's entry after exec (proc.h).  It runs only
 * with a channel on PROC_CHILD_FD, so an admin who types the hidden
 * option gets an error, not a child.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control/proc/proc_int.h"

const struct proc_def *
proc_def_find(const char *name)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (proc_defs[i] != NULL &&
		    strcmp(proc_defs[i]->name, name) == 0)
			return proc_defs[i];
	return NULL;
}

void
proc_child_main(const char *name)
{
	const struct proc_def *def = proc_def_find(name);
	int type = 0;
	socklen_t len = sizeof(type);

	if (def == NULL || def->run == NULL) {
		fprintf(stderr, "cordond: no process %s\n", name);
		exit(2);
	}
	if (getsockopt(PROC_CHILD_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "cordond: -P %s: fd %d is not a channel\n",
		    name, PROC_CHILD_FD);
		exit(2);
	}
	proc_is_child = true;
	exit(def->run(PROC_CHILD_FD));
}
