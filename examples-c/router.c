/*
 * router -- the paper's Figure 7: a process whose virtual kernel forwards between its
 * interfaces.  The network comes from RUMP_NET, e.g.
 *
 *   RUMP_NET="shmif /tmp/net/a 10.0.1.1/24; shmif /tmp/net/b 10.0.2.1/24; forward" ./router
 *
 * The program only boots the kernel and then waits: forwarding happens inside the
 * kernel library.  It prints "router ready" once configured and runs until killed.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <rump/rump.h>

#include "rumperr.h"

int main(int argc, char **argv)
{
	int error;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: router   (the network comes from RUMP_NET)\n");
		return 2;
	}
	if ((error = rump_init()) != 0) {
		fprintf(stderr, "router: rump_init: %s (%d)\n", rumperr_name(error), error);
		return 1;
	}
	printf("router ready\n");
	fflush(stdout);
	for (;;)
		pause();
	/* NOTREACHED */
}
