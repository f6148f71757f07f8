/*
 * echo_client -- send a pattern to an echo server and verify what comes back, from inside
 * the virtual kernel, written against rump_sys_*.
 *
 *   echo_client [-u] [-6] [-b BYTES] HOST PORT
 *
 * TCP (default): connects, sends BYTES (default 1 MiB) of the pattern of pattern.h while
 *   reading the echo, verifies every byte and prints "ok BYTES".  Sending and receiving are
 *   interleaved through rump_sys_poll, with non-blocking sends and never more bytes
 *   outstanding than the receive buffer holds, so full buffers on both sides cannot
 *   deadlock.
 * UDP (-u): sends datagrams of up to 1400 bytes totalling BYTES, one at a time, each
 *   verified when its echo arrives; a lost one is sent again after a 1 s receive timeout
 *   (SO_RCVTIMEO), up to 10 times.
 *
 * Exit status: 0 all verified; 1 any other failure; 2 connect failed, with
 * "connect: ENAME (num)" on stderr, e.g. "connect: ECONNREFUSED (61)".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#include "pattern.h"
#include "rumperr.h"

#define CHUNK 16384		/* largest single send (TCP) */
#define RBUFSIZE 65536		/* largest single read; >= CHUNK and DGRAM_MAX */
#define DGRAM_MAX 1400		/* largest datagram (UDP) */
#define UDP_TRIES 10		/* sends of one datagram before giving up */
#define UDP_RECENT 16		/* datagrams remembered to recognise late duplicate echoes */
#define IDLE_MS 30000		/* TCP: give up after this long without progress */

union rump_addr {
	struct rump_sockaddr sa;
	struct rump_sockaddr_in sin;
	struct rump_sockaddr_in6 sin6;
	struct rump_sockaddr_storage ss;
};

static void usage(void)
{
	fprintf(stderr, "usage: echo_client [-u] [-6] [-b BYTES] HOST PORT\n");
	exit(1);
}

static void report(const char *call, int e)
{
	fprintf(stderr, "%s: %s (%d)\n", call, rumperr_name(e), e);
}

static void fail(const char *call)
{
	report(call, errno);
	exit(1);
}

static void failx(const char *fmt, ...)
{
	va_list ap;

	fputs("echo_client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t parse_u64(const char *s, const char *what, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == 0 && end != s && s[0] != '-') {
		if (*end == 'k' || *end == 'K')
			v <<= 10, end++;
		else if (*end == 'm' || *end == 'M')
			v <<= 20, end++;
		else if (*end == 'g' || *end == 'G')
			v <<= 30, end++;
	}
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		failx("bad %s '%s'", what, s);
	return v;
}

static void pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static void check_bytes(const unsigned char *pat, const unsigned char *buf, size_t n,
    uint64_t off)
{
	size_t bad = pattern_mismatch(pat, buf, n, off);

	if (bad < n)
		failx("echo differs at offset %llu: got 0x%02x, expected 0x%02x",
		    (unsigned long long)(off + bad), buf[bad], pattern_byte(off + bad));
}

/* TCP: stream the pattern out and the echo back in, interleaved. */
static void run_tcp(int s, const unsigned char *pat, uint64_t total)
{
	unsigned char *rbuf = malloc(RBUFSIZE);
	uint64_t sent = 0, rcvd = 0, window;
	int rcvbuf = 0, sendflags = RUMP_MSG_DONTWAIT;
	rump_socklen_t optlen = sizeof(rcvbuf);

	if (rbuf == NULL)
		failx("out of memory");
	/*
	 * Never have more bytes outstanding than our receive buffer holds: then the server can
	 * always finish writing its echo, even if our sends were to block.
	 */
	if (rump_sys_getsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_RCVBUF, &rcvbuf, &optlen) == -1 ||
	    rcvbuf <= 0)
		rcvbuf = 16384;
	window = (uint64_t)rcvbuf;
	if (window < 1024)
		window = 1024;
	if (window > 262144)
		window = 262144;

	while (rcvd < total) {
		struct rump_pollfd pfd;
		int r;

		pfd.fd = s;
		pfd.events = RUMP_POLLIN;
		if (sent < total && sent - rcvd < window)
			pfd.events |= RUMP_POLLOUT;
		pfd.revents = 0;
		r = rump_sys_poll(&pfd, 1, IDLE_MS);
		if (r == -1) {
			if (errno == RUMP_EINTR)
				continue;
			fail("poll");
		}
		if (r == 0)
			failx("no progress for %d ms (sent %llu, received %llu of %llu)", IDLE_MS,
			    (unsigned long long)sent, (unsigned long long)rcvd,
			    (unsigned long long)total);

		if ((pfd.events & RUMP_POLLOUT) && (pfd.revents & RUMP_POLLOUT)) {
			uint64_t n = total - sent;
			rump_ssize_t w;

			if (n > CHUNK)
				n = CHUNK;
			if (n > window - (sent - rcvd))
				n = window - (sent - rcvd);
			w = rump_sys_sendto(s, pattern_at(pat, sent), (size_t)n, sendflags, NULL, 0);
			if (w >= 0) {
				sent += (uint64_t)w;
			} else if (errno == RUMP_EOPNOTSUPP && sendflags != 0) {
				/* No MSG_DONTWAIT: the window bound alone keeps us safe. */
				sendflags = 0;
			} else if (errno != RUMP_EAGAIN && errno != RUMP_EINTR) {
				fail("sendto");
			}
		}
		if (pfd.revents & (RUMP_POLLIN | RUMP_POLLHUP | RUMP_POLLERR)) {
			rump_ssize_t n = rump_sys_read(s, rbuf, RBUFSIZE);

			if (n == 0)
				failx("connection closed after %llu of %llu bytes echoed",
				    (unsigned long long)rcvd, (unsigned long long)total);
			if (n < 0) {
				if (errno != RUMP_EAGAIN && errno != RUMP_EINTR)
					fail("read");
				continue;
			}
			if ((uint64_t)n > sent - rcvd)
				failx("received %llu bytes more than were sent",
				    (unsigned long long)((uint64_t)n - (sent - rcvd)));
			check_bytes(pat, rbuf, (size_t)n, rcvd);
			rcvd += (uint64_t)n;
		}
	}

	/*
	 * Close our side and wait for the server's FIN, so that both directions are finished
	 * before this process, and the kernel inside it, goes away.
	 */
	if (rump_sys_shutdown(s, RUMP_SHUT_WR) == -1)
		fail("shutdown");
	for (;;) {
		struct rump_pollfd pfd;
		rump_ssize_t n;
		int r;

		pfd.fd = s;
		pfd.events = RUMP_POLLIN;
		pfd.revents = 0;
		r = rump_sys_poll(&pfd, 1, IDLE_MS);
		if (r == -1 && errno == RUMP_EINTR)
			continue;
		if (r <= 0)
			break;
		n = rump_sys_read(s, rbuf, RBUFSIZE);
		if (n > 0)
			failx("received %ld bytes more than were sent", (long)n);
		if (n == 0 || (errno != RUMP_EINTR && errno != RUMP_EAGAIN))
			break;
	}
	free(rbuf);
}

/* UDP: one datagram at a time, each sent until its echo comes back. */
static void run_udp(int s, const unsigned char *pat, uint64_t total,
    const union rump_addr *dst, rump_socklen_t dstlen)
{
	unsigned char *rbuf = malloc(RBUFSIZE);
	struct rump_timeval tv;
	uint64_t recent_off[UDP_RECENT];
	size_t recent_len[UDP_RECENT];
	unsigned nrecent = 0;
	uint64_t off = 0;

	if (rbuf == NULL)
		failx("out of memory");
	memset(&tv, 0, sizeof(tv));
	tv.tv_sec = 1;
	if (rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		fail("setsockopt SO_RCVTIMEO");

	while (off < total) {
		size_t len = total - off > DGRAM_MAX ? DGRAM_MAX : (size_t)(total - off);
		int tries = 0, sendit = 1;

		for (;;) {
			union rump_addr from;
			rump_socklen_t fromlen = sizeof(from);
			rump_ssize_t n;
			unsigned i;
			int stale = 0;

			if (sendit) {
				if (++tries > UDP_TRIES)
					failx("no echo for the datagram at offset %llu after %d sends",
					    (unsigned long long)off, UDP_TRIES);
				if (rump_sys_sendto(s, pattern_at(pat, off), len, 0, &dst->sa,
				    dstlen) == -1) {
					if (errno == RUMP_ENOBUFS || errno == RUMP_EAGAIN ||
					    errno == RUMP_EINTR) {
						pause_ms(10);
						continue;
					}
					fail("sendto");
				}
				sendit = 0;
			}
			n = rump_sys_recvfrom(s, rbuf, RBUFSIZE, 0, &from.sa, &fromlen);
			if (n < 0) {
				if (errno == RUMP_EAGAIN || errno == RUMP_ETIMEDOUT) {
					sendit = 1;	/* timed out: lost either way */
					continue;
				}
				if (errno == RUMP_EINTR)
					continue;
				fail("recvfrom");
			}
			if ((size_t)n == len && pattern_mismatch(pat, rbuf, len, off) == len)
				break;
			/* A late second echo of an earlier, re-sent datagram? */
			for (i = 0; i < nrecent && !stale; i++)
				stale = (size_t)n == recent_len[i] &&
				    pattern_mismatch(pat, rbuf, (size_t)n, recent_off[i]) ==
				    (size_t)n;
			if (stale)
				continue;
			if ((size_t)n != len)
				failx("echo of the datagram at offset %llu has %ld bytes, sent %zu",
				    (unsigned long long)off, (long)n, len);
			check_bytes(pat, rbuf, len, off);
		}
		recent_off[nrecent % UDP_RECENT] = off;
		recent_len[nrecent % UDP_RECENT] = len;
		if (nrecent < UDP_RECENT)
			nrecent++;
		off += len;
	}
	free(rbuf);
}

int main(int argc, char **argv)
{
	union rump_addr dst;
	rump_socklen_t dstlen;
	unsigned char *pat;
	uint64_t total = 1048576;
	unsigned long port;
	const char *host;
	int udp = 0, family = RUMP_AF_INET;
	int c, s, err;

	while ((c = getopt(argc, argv, "u6b:")) != -1) {
		switch (c) {
		case 'u':
			udp = 1;
			break;
		case '6':
			family = RUMP_AF_INET6;
			break;
		case 'b':
			total = parse_u64(optarg, "byte count", UINT64_MAX >> 1);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 2)
		usage();
	host = argv[optind];
	port = (unsigned long)parse_u64(argv[optind + 1], "port", 65535);
	if (strchr(host, ':') != NULL)
		family = RUMP_AF_INET6;

	memset(&dst, 0, sizeof(dst));
	if (family == RUMP_AF_INET6) {
		dst.sin6.sin6_len = sizeof(dst.sin6);
		dst.sin6.sin6_family = RUMP_AF_INET6;
		dst.sin6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &dst.sin6.sin6_addr) != 1)
			failx("bad IPv6 address '%s'", host);
		dstlen = sizeof(dst.sin6);
	} else {
		dst.sin.sin_len = sizeof(dst.sin);
		dst.sin.sin_family = RUMP_AF_INET;
		dst.sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &dst.sin.sin_addr) != 1)
			failx("bad IPv4 address '%s'", host);
		dstlen = sizeof(dst.sin);
	}
	if ((pat = pattern_table(RBUFSIZE)) == NULL)
		failx("out of memory");

	if ((err = rump_init()) != 0) {
		report("rump_init", err);
		return 1;
	}
	s = rump_sys_socket(family, udp ? RUMP_SOCK_DGRAM : RUMP_SOCK_STREAM, 0);
	if (s == -1)
		fail("socket");

	if (udp) {
		run_udp(s, pat, total, &dst, dstlen);
	} else {
		if (rump_sys_connect(s, &dst.sa, dstlen) == -1) {
			report("connect", errno);
			return 2;
		}
		run_tcp(s, pat, total);
	}
	rump_sys_close(s);
	free(pat);
	printf("ok %llu\n", (unsigned long long)total);
	fflush(stdout);
	return 0;
}
