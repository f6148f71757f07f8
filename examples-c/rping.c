/*
 * rping -- round-trip times to an echo daemon, with a summary like ping's.
 *
 *   rping [-c COUNT] [-i MS] [-t] HOST PORT
 *   rping -p [-c COUNT] [-i MS] HOST
 *
 * Sends COUNT (default 10) small messages to HOST:PORT, one at a time, and times each
 * echo; -t uses TCP instead of UDP.  -p pings instead: ICMP echo requests on a raw
 * socket, answered by HOST's kernel itself.  The network comes from RUMP_NET.  The last
 * line is "rtt min/avg/max/stddev = a/b/c/d ms" and the exit status is 0 when every
 * echo came back (UDP and ICMP: one not echoed within a second counts as lost).
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
	fprintf(stderr, "usage: rping [-c COUNT] [-i MS] [-t] HOST PORT\n"
	    "       rping -p [-c COUNT] [-i MS] HOST\n");
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

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t in_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * One ICMP echo exchange on raw socket s: send request (id, seq) with len bytes of
 * payload and wait (SO_RCVTIMEO) for its reply, skipping other ICMP messages.  Returns
 * 0 when the reply came.
 */
static int icmp_echo(int s, const struct rump_sockaddr_in *to, uint16_t id, uint16_t seq,
    const char *payload, int len)
{
	uint8_t pkt[128], buf[256];
	uint16_t ck;
	int tries;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 8; /* echo request */
	pkt[4] = (uint8_t)(id >> 8);
	pkt[5] = (uint8_t)id;
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, payload, (size_t)len);
	ck = in_cksum(pkt, (size_t)(8 + len));
	pkt[2] = (uint8_t)(ck >> 8);
	pkt[3] = (uint8_t)ck;
	if (rump_sys_sendto(s, pkt, (size_t)(8 + len), 0, (const struct rump_sockaddr *)to,
	    sizeof(*to)) != 8 + len)
		fail("sendto");
	for (tries = 0; tries < 64; tries++) {
		/* A raw socket delivers the IP header too. */
		rump_ssize_t n = rump_sys_recvfrom(s, buf, sizeof(buf), 0, NULL, NULL);
		const uint8_t *icmp;
		int hl;

		if (n < 0)
			return -1;
		hl = (buf[0] & 0x0f) * 4;
		if (n < hl + 8)
			continue;
		icmp = buf + hl;
		if (icmp[0] == 0 && (icmp[4] << 8 | icmp[5]) == id &&
		    (icmp[6] << 8 | icmp[7]) == seq && n - hl - 8 == len &&
		    memcmp(icmp + 8, payload, (size_t)len) == 0)
			return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct rump_sockaddr_in sin;
	struct rump_timeval tv;
	long count = 10, interval = 0, i, got = 0;
	double min = 1e9, max = 0, sum = 0, sum2 = 0;
	int ch, tcp = 0, icmp = 0, s, error;
	char msg[64], buf[64];

	while ((ch = getopt(argc, argv, "c:i:pt")) != -1) {
		switch (ch) {
		case 'c':
			count = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			break;
		case 'p':
			icmp = 1;
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
	if (argc != (icmp ? 1 : 2) || count < 1 || (icmp && tcp))
		usage();
	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_port = icmp ? 0 : htons((uint16_t)atoi(argv[1]));
	if (inet_pton(AF_INET, argv[0], &sin.sin_addr) != 1) {
		fprintf(stderr, "rping: bad address '%s'\n", argv[0]);
		return 2;
	}
	if ((error = rump_init()) != 0) {
		fprintf(stderr, "rping: rump_init: %s (%d)\n", rumperr_name(error), error);
		return 1;
	}
	if (icmp)
		s = rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_RAW, RUMP_IPPROTO_ICMP);
	else
		s = rump_sys_socket(RUMP_AF_INET, tcp ? RUMP_SOCK_STREAM : RUMP_SOCK_DGRAM, 0);
	if (s == -1)
		fail("socket");
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	if (rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		fail("setsockopt SO_RCVTIMEO");
	if (!icmp && rump_sys_connect(s, (struct rump_sockaddr *)&sin, sizeof(sin)) == -1)
		fail("connect");
	/* The first exchange resolves ARP along the path: not counted. */
	for (i = -1; i < count; i++) {
		double t0, dt;
		int len = snprintf(msg, sizeof(msg), "rping %ld", i);
		rump_ssize_t n;

		t0 = now_ms();
		if (icmp) {
			int ok = icmp_echo(s, &sin, (uint16_t)getpid(), (uint16_t)(i + 1), msg, len);

			dt = now_ms() - t0;
			if (ok != 0) {
				if (i >= 0)
					printf("seq %ld: no echo\n", i);
				continue;
			}
			memcpy(buf, msg, (size_t)len);
			n = len;
			goto echoed;
		}
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
echoed:
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
