/*
 * echo_server -- an echo daemon inside the virtual kernel, written against rump_sys_*.
 *
 *   echo_server [-u] [-6] [-1] [-n COUNT] [-v] PORT
 *
 * Boots the virtual kernel with rump_init() (configured by RUMP_NET), binds the wildcard
 * address of PORT with SO_REUSEADDR and prints "listening on PORT" on stdout once it is
 * ready (with PORT 0, the port the kernel chose).
 *   TCP (default): serves connections one after another, echoing everything back until the
 *     client closes; -1 exits after the first connection is done.
 *   UDP (-u): sends every datagram back to its sender; -n COUNT exits after COUNT.
 *
 * Everything here speaks the NetBSD ABI: rump_ structs with sin_len, RUMP_ constants, and
 * NetBSD errno values, which rumperr_name() turns into names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#include "rumperr.h"

#define BUFSIZE 65536

union rump_addr {
	struct rump_sockaddr sa;
	struct rump_sockaddr_in sin;
	struct rump_sockaddr_in6 sin6;
	struct rump_sockaddr_storage ss;
};

static int verbose;

static void usage(void)
{
	fprintf(stderr, "usage: echo_server [-u] [-6] [-1] [-n COUNT] [-v] PORT\n");
	exit(1);
}

/* Print "call: ENAME (num)" for a NetBSD errno value on stderr. */
static void report(const char *call, int e)
{
	fprintf(stderr, "%s: %s (%d)\n", call, rumperr_name(e), e);
}

static void fail(const char *call)
{
	report(call, errno);
	exit(1);
}

static unsigned long parse_ulong(const char *s, const char *what, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) {
		fprintf(stderr, "echo_server: bad %s '%s'\n", what, s);
		exit(1);
	}
	return v;
}

static const char *addr_str(const union rump_addr *a, char *out, size_t outlen)
{
	char s[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == RUMP_AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, s, sizeof(s));
		snprintf(out, outlen, "[%s]:%u", s, (unsigned)ntohs(a->sin6.sin6_port));
	} else if (a->sa.sa_family == RUMP_AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, s, sizeof(s));
		snprintf(out, outlen, "%s:%u", s, (unsigned)ntohs(a->sin.sin_port));
	} else {
		snprintf(out, outlen, "(family %d)", (int)a->sa.sa_family);
	}
	return out;
}

/* Write all n bytes; 0 on success, -1 (errno set) when the connection is gone. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		rump_ssize_t w = rump_sys_write(fd, p, n);

		if (w < 0) {
			if (errno == RUMP_EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Echo one TCP connection until the client closes it. */
static void serve(int fd, unsigned char *buf)
{
	unsigned long long total = 0;
	struct rump_linger lg;

	for (;;) {
		rump_ssize_t n = rump_sys_read(fd, buf, BUFSIZE);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == RUMP_EINTR)
				continue;
			report("read", errno);
			break;
		}
		if (write_all(fd, buf, (size_t)n) == -1) {
			report("write", errno);
			break;
		}
		total += (unsigned long long)n;
	}
	if (verbose)
		fprintf(stderr, "echo_server: connection done, %llu bytes echoed\n", total);
	/*
	 * Linger, so that our FIN and the last echoed bytes are acknowledged before close
	 * returns: with -1 the process, and the kernel inside it, ends right after.  A kernel
	 * without SO_LINGER still closes normally.
	 */
	lg.l_onoff = 1;
	lg.l_linger = 10;
	(void)rump_sys_setsockopt(fd, RUMP_SOL_SOCKET, RUMP_SO_LINGER, &lg, sizeof(lg));
	if (rump_sys_close(fd) == -1)
		report("close", errno);
}

int main(int argc, char **argv)
{
	union rump_addr addr, peer;
	rump_socklen_t alen;
	unsigned char *buf;
	unsigned long count = 0, port;
	int udp = 0, once = 0, family = RUMP_AF_INET;
	int c, s, on = 1, err;
	char astr[INET6_ADDRSTRLEN + 16];

	while ((c = getopt(argc, argv, "u61n:v")) != -1) {
		switch (c) {
		case 'u':
			udp = 1;
			break;
		case '6':
			family = RUMP_AF_INET6;
			break;
		case '1':
			once = 1;
			break;
		case 'n':
			count = parse_ulong(optarg, "count", (unsigned long)-1);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	port = parse_ulong(argv[optind], "port", 65535);

	if ((err = rump_init()) != 0) {
		report("rump_init", err);
		return 1;
	}
	if ((buf = malloc(BUFSIZE)) == NULL) {
		fprintf(stderr, "echo_server: out of memory\n");
		return 1;
	}

	s = rump_sys_socket(family, udp ? RUMP_SOCK_DGRAM : RUMP_SOCK_STREAM, 0);
	if (s == -1)
		fail("socket");
	if (rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR, &on, sizeof(on)) == -1)
		fail("setsockopt SO_REUSEADDR");

	/* The wildcard address: all zeroes but length, family and port. */
	memset(&addr, 0, sizeof(addr));
	if (family == RUMP_AF_INET6) {
		addr.sin6.sin6_len = sizeof(addr.sin6);
		addr.sin6.sin6_family = RUMP_AF_INET6;
		addr.sin6.sin6_port = htons((uint16_t)port);
		alen = sizeof(addr.sin6);
	} else {
		addr.sin.sin_len = sizeof(addr.sin);
		addr.sin.sin_family = RUMP_AF_INET;
		addr.sin.sin_port = htons((uint16_t)port);
		alen = sizeof(addr.sin);
	}
	if (rump_sys_bind(s, &addr.sa, alen) == -1)
		fail("bind");
	if (!udp && rump_sys_listen(s, 16) == -1)
		fail("listen");

	/* Report the port actually bound (PORT 0 lets the kernel choose). */
	alen = sizeof(addr);
	if (rump_sys_getsockname(s, &addr.sa, &alen) == -1)
		fail("getsockname");
	port = ntohs(family == RUMP_AF_INET6 ? addr.sin6.sin6_port : addr.sin.sin_port);
	printf("listening on %lu\n", port);
	fflush(stdout);

	if (udp) {
		unsigned long seen = 0;

		while (count == 0 || seen < count) {
			rump_ssize_t n;

			alen = sizeof(peer);
			n = rump_sys_recvfrom(s, buf, BUFSIZE, 0, &peer.sa, &alen);
			if (n < 0) {
				if (errno == RUMP_EINTR)
					continue;
				fail("recvfrom");
			}
			seen++;
			if (verbose)
				fprintf(stderr, "echo_server: %ld bytes from %s\n", (long)n,
				    addr_str(&peer, astr, sizeof(astr)));
			while (rump_sys_sendto(s, buf, (size_t)n, 0, &peer.sa, alen) == -1) {
				if (errno == RUMP_EINTR)
					continue;
				/* A full queue or an unreachable sender loses this echo only. */
				report("sendto", errno);
				break;
			}
		}
	} else {
		for (;;) {
			int fd;

			alen = sizeof(peer);
			fd = rump_sys_accept(s, &peer.sa, &alen);
			if (fd == -1) {
				if (errno == RUMP_EINTR || errno == RUMP_ECONNABORTED)
					continue;
				fail("accept");
			}
			if (verbose)
				fprintf(stderr, "echo_server: connection from %s\n",
				    addr_str(&peer, astr, sizeof(astr)));
			serve(fd, buf);
			if (once)
				break;
		}
	}
	rump_sys_close(s);
	free(buf);
	return 0;
}
