/*
 * rping -- round-trip times to an echo daemon, with a summary like ping's.
 *
 *   rping [-c COUNT] [-i MS] [-t] HOST PORT
 *
 * Sends COUNT (default 10) small messages to HOST:PORT, one at a time, and times each
 * echo; -t uses TCP instead of UDP.  The network comes from RUMP_NET.  The last line is
 * "rtt min/avg/max/stddev = a/b/c/d ms" and the exit status is 0 when every echo came
 * back (UDP: a message not echoed within a second counts as lost).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#include <arpa/inet.h>

#include "rumperr.h"

static void usage(void)
{
	fprintf(stderr, "usage: rping [-c COUNT] [-i MS] [-t] HOST PORT\n");
	exit(2);
}

static void fail(const char *call)
{
	int e = errno;

	fprintf(stderr, "rping: %s: %s (%d)\n", call, rumperr_name(e), e);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct rump_sockaddr_in sin;
	struct rump_timeval tv;
	long count = 10, interval = 0, i, got = 0;
	double min = 1e9, max = 0, sum = 0, sum2 = 0;
	int ch, tcp = 0, s, error;
	char msg[64], buf[64];

	while ((ch = getopt(argc, argv, "c:i:t")) != -1) {
		switch (ch) {
		case 'c':
			count = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			break;
		case 't':
			tcp = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || count < 1)
		usage();
	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	if (inet_pton(AF_INET, argv[0], &sin.sin_addr) != 1) {
		fprintf(stderr, "rping: bad address '%s'\n", argv[0]);
		return 2;
	}
	if ((error = rump_init()) != 0) {
		fprintf(stderr, "rping: rump_init: %s (%d)\n", rumperr_name(error), error);
		return 1;
	}
	s = rump_sys_socket(RUMP_AF_INET, tcp ? RUMP_SOCK_STREAM : RUMP_SOCK_DGRAM, 0);
	if (s == -1)
		fail("socket");
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	if (rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		fail("setsockopt SO_RCVTIMEO");
	if (rump_sys_connect(s, (struct rump_sockaddr *)&sin, sizeof(sin)) == -1)
		fail("connect");
	/* The first exchange resolves ARP along the path: not counted. */
	for (i = -1; i < count; i++) {
		double t0, dt;
		int len = snprintf(msg, sizeof(msg), "rping %ld", i);
		rump_ssize_t n;

		t0 = now_ms();
		if (rump_sys_write(s, msg, (size_t)len) != len)
			fail("write");
		n = tcp ? 0 : -1;
		if (tcp) {
			while (n < len) {
				rump_ssize_t r = rump_sys_read(s, buf + n, (size_t)(len - n));
				if (r <= 0)
					fail("read");
				n += r;
			}
		} else {
			n = rump_sys_read(s, buf, sizeof(buf));
		}
		dt = now_ms() - t0;
		if (n != len || memcmp(buf, msg, (size_t)len) != 0) {
			if (i >= 0)
				printf("seq %ld: no echo\n", i);
			continue;
		}
		if (i < 0)
			continue;
		got++;
		printf("%d bytes from %s: seq=%ld time=%.3f ms\n", len, argv[0], i, dt);
		if (dt < min)
			min = dt;
		if (dt > max)
			max = dt;
		sum += dt;
		sum2 += dt * dt;
		if (interval > 0)
			usleep((useconds_t)interval * 1000);
	}
	printf("--- %s rping statistics ---\n", argv[0]);
	printf("%ld messages sent, %ld echoed, %.1f%% lost\n", count, got,
	    100.0 * (double)(count - got) / (double)count);
	if (got > 0) {
		double avg = sum / (double)got;
		double var = sum2 / (double)got - avg * avg;

		printf("rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n", min, avg, max,
		    sqrt(var > 0 ? var : 0));
	}
	rump_sys_close(s);
	return got == count ? 0 : 1;
}
