/*
 * echod -- UDP and TCP echo daemon in a virtual kernel (the paper's section 4.2).
 *
 *   echod PORT
 *
 * Echoes every UDP datagram to its sender and every TCP connection's bytes back, on
 * PORT, serving both with rump_sys_poll.  The network comes from RUMP_NET.  Prints
 * "echod ready on PORT" when listening.  A kernel without TCP (none today) would get
 * UDP only, with a message saying so.  Runs until killed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#include <arpa/inet.h>

#include "rumperr.h"

#define MAXCONN 32

static void fail(const char *call)
{
	int e = errno;

	fprintf(stderr, "echod: %s: %s (%d)\n", call, rumperr_name(e), e);
	exit(1);
}

static int bound(int type, uint16_t port)
{
	struct rump_sockaddr_in sin;
	int s, one = 1;

	s = rump_sys_socket(RUMP_AF_INET, type, 0);
	if (s == -1)
		return -1;
	rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_port = htons(port);
	if (rump_sys_bind(s, (struct rump_sockaddr *)&sin, sizeof(sin)) == -1)
		fail("bind");
	return s;
}

int main(int argc, char **argv)
{
	struct rump_pollfd pfd[2 + MAXCONN];
	int conns[MAXCONN];
	int u, t, i, error;
	uint16_t port;
	char buf[65536];

	if (argc != 2) {
		fprintf(stderr, "usage: echod PORT\n");
		return 2;
	}
	port = (uint16_t)atoi(argv[1]);
	if ((error = rump_init()) != 0) {
		fprintf(stderr, "echod: rump_init: %s (%d)\n", rumperr_name(error), error);
		return 1;
	}
	if ((u = bound(RUMP_SOCK_DGRAM, port)) == -1)
		fail("socket udp");
	t = bound(RUMP_SOCK_STREAM, port);
	if (t == -1)
		fprintf(stderr, "echod: no TCP in this kernel (%s): UDP only\n", rumperr_name(errno));
	else if (rump_sys_listen(t, 16) == -1)
		fail("listen");
	for (i = 0; i < MAXCONN; i++)
		conns[i] = -1;
	printf("echod ready on %u\n", port);
	fflush(stdout);
	for (;;) {
		int nfds = 0;

		pfd[nfds].fd = u;
		pfd[nfds++].events = RUMP_POLLIN;
		pfd[nfds].fd = t;
		pfd[nfds++].events = RUMP_POLLIN;
		for (i = 0; i < MAXCONN; i++) {
			pfd[nfds].fd = conns[i];
			pfd[nfds++].events = RUMP_POLLIN;
		}
		if (rump_sys_poll(pfd, (rump_nfds_t)nfds, -1) == -1)
			fail("poll");
		if (pfd[0].revents & RUMP_POLLIN) {
			struct rump_sockaddr_storage from;
			rump_socklen_t flen = sizeof(from);
			rump_ssize_t r = rump_sys_recvfrom(u, buf, sizeof(buf), 0,
			    (struct rump_sockaddr *)&from, &flen);

			if (r >= 0)
				rump_sys_sendto(u, buf, (size_t)r, 0, (struct rump_sockaddr *)&from, flen);
		}
		if (t != -1 && (pfd[1].revents & RUMP_POLLIN)) {
			int c = rump_sys_accept(t, NULL, NULL);

			for (i = 0; c != -1 && i < MAXCONN && conns[i] != -1; i++)
				continue;
			if (c != -1 && i < MAXCONN)
				conns[i] = c;
			else if (c != -1)
				rump_sys_close(c);
		}
		for (i = 0; i < MAXCONN; i++) {
			rump_ssize_t r, w, off;

			if (conns[i] == -1 || !(pfd[2 + i].revents & (RUMP_POLLIN | RUMP_POLLHUP | RUMP_POLLERR)))
				continue;
			r = rump_sys_read(conns[i], buf, sizeof(buf));
			for (off = 0; r > 0 && off < r; off += w) {
				w = rump_sys_write(conns[i], buf + off, (size_t)(r - off));
				if (w <= 0)
					break;
			}
			if (r <= 0) {
				rump_sys_close(conns[i]);
				conns[i] = -1;
			}
		}
	}
}
