/*
 * ttcp -- measure TCP or UDP throughput between a transmitter and a receiver.
 *
 * One source, two programs.  Built plainly (build/ttcp) it uses the host kernel's
 * sockets.  Built with -DUSE_RUMP -DRUMP_MACRO_RW (build/ttcp-rump) it includes
 * <rump/rumpmacro.h> after every host header, the way Figure 4 of the rump networking
 * paper adapts ttcp: the socket calls, and read/write/close, become calls into the
 * virtual kernel of librump, which take the same host structs and constants and set the
 * host's errno, so nothing else in this file changes.
 *
 * For that reason stdin and stdout are only touched through stdio (fread/fwrite): read
 * and write on descriptors 0 and 1 would reach the virtual kernel in the rump build.
 *
 *   ttcp -t [options] HOST     transmit (stdin, or a pattern with -s) to HOST
 *   ttcp -r [options]          receive one connection (to stdout, or discard with -s)
 *
 * Every report goes to stderr; the last line is machine-readable:
 *   ttcp-t: bytes=N seconds=S MBps=X        (MB = 2^20 bytes)
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

#ifdef USE_RUMP
#include <rump/rumpmacro.h>
#endif

/* A datagram this short is a start or end marker, never data (the classic convention). */
#define UDP_MARKER_LEN 4
/* How many end markers a UDP transmitter sends, in case some are dropped. */
#define UDP_END_MARKERS 8
/* A UDP receiver that has started gives up after this long without a datagram. */
#define UDP_IDLE_MS 3000
/* How long a TCP transmitter waits for the receiver's FIN after sending everything. */
#define TCP_DRAIN_MS 30000

static int trans = -1;		/* 1: -t, 0: -r */
static int sinkmode;		/* -s */
static int udp;			/* -u */
static int nodelay;		/* -D */
static int verbose;		/* -v */
static int check;		/* -c */
static int family = AF_INET;	/* -4 / -6 */
static size_t buflen = 8192;	/* -l */
static uint64_t nbuf = 2048;	/* -n */
static unsigned port = 5001;	/* -p */
static int sockbufsize;		/* -b */
static const char *tag = "ttcp";

static void usage(void)
{
	fprintf(stderr,
	    "usage: ttcp -t [-options] host\n"
	    "       ttcp -r [-options]\n"
	    "common options:\n"
	    "  -l LEN   length of the buffers read or written (default 8192)\n"
	    "  -u       use UDP instead of TCP\n"
	    "  -p PORT  port number (default 5001)\n"
	    "  -s       -t: send a generated pattern instead of reading stdin;\n"
	    "           -r: discard the data instead of writing it to stdout\n"
	    "  -b SIZE  socket buffer size (SO_SNDBUF with -t, SO_RCVBUF with -r)\n"
	    "  -4 / -6  IPv4 (default) or IPv6\n"
	    "  -v       verbose\n"
	    "options for -t:\n"
	    "  -n NUM   number of buffers to send with -s (default 2048)\n"
	    "  -D       set TCP_NODELAY\n"
	    "options for -r:\n"
	    "  -c       with -s: verify the pattern, exit 1 on a mismatch\n"
	    "sizes take a k, m or g suffix (powers of 1024)\n");
	exit(1);
}

/* Report a failed call, perror-style, and exit 1. */
static void fail(const char *call)
{
	int e = errno;

	fprintf(stderr, "%s: %s: %s\n", tag, call, strerror(e));
	exit(1);
}

/* Report an error that is not a failed call and exit 1. */
static void failx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* A number with an optional k/m/g suffix, between min and max. */
static uint64_t parse_num(const char *s, const char *what, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		failx("bad %s '%s'", what, s);
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || v < min || v > max)
		failx("bad %s '%s'", what, s);
	return v;
}

/* Fill in a sockaddr for host (NULL: the wildcard address) and the port. */
static socklen_t make_addr(struct sockaddr_storage *ss, const char *host)
{
	memset(ss, 0, sizeof(*ss));
	if (host != NULL && strcmp(host, "localhost") == 0)
		host = family == AF_INET6 ? "::1" : "127.0.0.1";
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (host == NULL)
			sin6->sin6_addr = in6addr_any;
		else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			failx("bad IPv6 address '%s'", host);
		return sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (host == NULL)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			failx("bad IPv4 address '%s' (use -6 for IPv6)", host);
		return sizeof(*sin);
	}
}

static const char *addr_str(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];
	unsigned p;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		p = ntohs(sin6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", a, p);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		p = ntohs(sin->sin_port);
		snprintf(out, outlen, "%s:%u", a, p);
	} else {
		snprintf(out, outlen, "(family %d)", (int)ss->ss_family);
	}
	return out;
}

static void set_int_opt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) == -1)
		fail(what);
}

static void show_sockbufs(int fd)
{
	int snd = 0, rcv = 0;
	socklen_t len;

	len = sizeof(snd);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len) == -1)
		snd = -1;
	len = sizeof(rcv);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) == -1)
		rcv = -1;
	note("socket buffers: send %d, receive %d", snd, rcv);
}

/* Write all n bytes to a stream socket, across short writes and EINTR. */
static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd;

				pfd.fd = fd;
				pfd.events = POLLOUT;
				pfd.revents = 0;
				if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
					fail("poll");
				continue;
			}
			fail("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Send one datagram, waiting out a full interface queue (ENOBUFS) as the classic does. */
static void send_datagram(int fd, const void *p, size_t n, const struct sockaddr_storage *to,
    socklen_t tolen)
{
	for (;;) {
		ssize_t w = sendto(fd, p, n, 0, (const struct sockaddr *)to, tolen);

		if (w >= 0)
			return;
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK) {
			pause_ms(1);
			continue;
		}
		fail("sendto");
	}
}

/*
 * After shutdown(SHUT_WR): wait until the receiver closes its side, so every byte is known
 * delivered before the process (and, in the rump build, the kernel holding the send
 * buffer) goes away.
 */
static void drain_until_eof(int fd)
{
	unsigned char tmp[4096];
	double deadline = now() + TCP_DRAIN_MS / 1000.0;

	for (;;) {
		struct pollfd pfd;
		int left = (int)((deadline - now()) * 1000.0);
		int r;
		ssize_t n;

		if (left <= 0) {
			note("no EOF from the receiver after %d ms; giving up", TCP_DRAIN_MS);
			return;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("poll");
		}
		if (r == 0)
			continue;
		n = read(fd, tmp, sizeof(tmp));
		if (n == 0)
			return;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			if (errno == ECONNRESET) {
				if (verbose)
					note("connection reset while waiting for EOF");
				return;
			}
			fail("read");
		}
	}
}

/* Close a data socket so that our FIN still goes out if the process exits right after. */
static void close_lingering(int fd)
{
	struct linger lg;

	lg.l_onoff = 1;
	lg.l_linger = 10;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1 && verbose)
		note("setsockopt SO_LINGER: %s (ignored)", strerror(errno));
	if (close(fd) == -1)
		fail("close");
}

/* The first line of a run: what is about to be measured. */
static void print_header(const char *host)
{
	fprintf(stderr, "%s: buflen=%zu, nbuf=%llu, port=%u", tag, buflen,
	    (unsigned long long)nbuf, port);
	if (sockbufsize > 0)
		fprintf(stderr, ", sockbufsize=%d", sockbufsize);
	fprintf(stderr, "  %s%s", udp ? "udp" : "tcp", family == AF_INET6 ? "6" : "");
	if (host != NULL)
		fprintf(stderr, "  -> %s", host);
	fputc('\n', stderr);
}

struct result {
	uint64_t bytes;
	uint64_t calls;
	double start, end;
};

/* -t over TCP: connected socket fd. */
static void tcp_transmit(int fd, const unsigned char *pat, unsigned char *buf, struct result *res)
{
	if (sinkmode) {
		uint64_t off = 0, i;

		for (i = 0; i < nbuf; i++) {
			write_all(fd, pattern_at(pat, off), buflen);
			off += buflen;
			res->calls++;
		}
		res->bytes = off;
	} else {
		size_t n;

		while ((n = fread(buf, 1, buflen, stdin)) > 0) {
			write_all(fd, buf, n);
			res->bytes += n;
			res->calls++;
		}
		if (ferror(stdin))
			failx("reading stdin failed");
	}
	if (shutdown(fd, SHUT_WR) == -1)
		fail("shutdown");
	drain_until_eof(fd);
	res->end = now();
	if (close(fd) == -1)
		fail("close");
}

/* -r over TCP: accepted socket fd. */
static void tcp_receive(int fd, const unsigned char *pat, unsigned char *buf, struct result *res)
{
	uint64_t off = 0;

	for (;;) {
		ssize_t n = read(fd, buf, buflen);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("read");
		}
		res->calls++;
		if (sinkmode) {
			if (check) {
				size_t bad = pattern_mismatch(pat, buf, (size_t)n, off);

				if (bad < (size_t)n)
					failx("data mismatch at stream offset %llu: got 0x%02x, "
					    "expected 0x%02x",
					    (unsigned long long)(off + bad), buf[bad],
					    pattern_byte(off + bad));
			}
		} else if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			failx("writing stdout failed");
		}
		off += (uint64_t)n;
	}
	res->end = now();
	res->bytes = off;
	if (!sinkmode && fflush(stdout) != 0)
		failx("writing stdout failed");
	close_lingering(fd);
}

/* -t over UDP: a start marker, the data, then end markers. */
static void udp_transmit(int fd, const struct sockaddr_storage *to, socklen_t tolen,
    const unsigned char *pat, unsigned char *buf, struct result *res)
{
	static const unsigned char marker[UDP_MARKER_LEN];
	int i;

	send_datagram(fd, marker, sizeof(marker), to, tolen);
	if (sinkmode) {
		uint64_t k;

		/* Every datagram carries the pattern from offset 0. */
		for (k = 0; k < nbuf; k++) {
			send_datagram(fd, pat, buflen, to, tolen);
			res->bytes += buflen;
			res->calls++;
		}
	} else {
		size_t n;

		while ((n = fread(buf, 1, buflen, stdin)) > 0) {
			send_datagram(fd, buf, n, to, tolen);
			res->bytes += n;
			res->calls++;
		}
		if (ferror(stdin))
			failx("reading stdin failed");
	}
	res->end = now();
	for (i = 0; i < UDP_END_MARKERS; i++) {
		send_datagram(fd, marker, sizeof(marker), to, tolen);
		pause_ms(2);
	}
	if (close(fd) == -1)
		fail("close");
}

/* -r over UDP: the clock starts at the first datagram and stops at an end marker. */
static void udp_receive(int fd, const unsigned char *pat, unsigned char *buf, struct result *res)
{
	int started = 0;
	double last = 0;

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		if (started) {
			struct pollfd pfd;
			int r;

			pfd.fd = fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			r = poll(&pfd, 1, UDP_IDLE_MS);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				fail("poll");
			}
			if (r == 0) {
				note("no end marker within %d ms; stopping", UDP_IDLE_MS);
				res->end = last;
				break;
			}
		}
		n = recvfrom(fd, buf, buflen, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("recvfrom");
		}
		if (n <= UDP_MARKER_LEN) {
			if (started) {
				res->end = now();
				break;
			}
			started = 1;
			res->start = last = now();
			if (verbose) {
				char a[INET6_ADDRSTRLEN + 16];

				note("start marker from %s", addr_str(&from, a, sizeof(a)));
			}
			continue;
		}
		if (!started) {
			started = 1;
			res->start = now();
		}
		last = now();
		res->calls++;
		res->bytes += (uint64_t)n;
		if (sinkmode) {
			if (check) {
				size_t bad = pattern_mismatch(pat, buf, (size_t)n, 0);

				if (bad < (size_t)n)
					failx("data mismatch in datagram %llu at offset %zu: got "
					    "0x%02x, expected 0x%02x",
					    (unsigned long long)res->calls, bad, buf[bad],
					    pattern_byte(bad));
			}
		} else if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			failx("writing stdout failed");
		}
	}
	if (!sinkmode && fflush(stdout) != 0)
		failx("writing stdout failed");
	if (close(fd) == -1)
		fail("close");
}

static void report(const struct result *res, const struct rusage *ru0, const struct rusage *ru1)
{
	double real = res->end - res->start;
	double user = cpu_seconds(&ru1->ru_utime) - cpu_seconds(&ru0->ru_utime);
	double sys = cpu_seconds(&ru1->ru_stime) - cpu_seconds(&ru0->ru_stime);
	double mbps;

	if (real < 1e-6)
		real = 1e-6;
	mbps = (double)res->bytes / real / 1048576.0;
	fprintf(stderr, "%s: %llu bytes in %.2f real seconds = %.2f MB/sec +++\n", tag,
	    (unsigned long long)res->bytes, real, mbps);
	if (res->calls > 0)
		fprintf(stderr, "%s: %llu I/O calls, msec/call = %.3f, calls/sec = %.2f\n", tag,
		    (unsigned long long)res->calls, real * 1000.0 / (double)res->calls,
		    (double)res->calls / real);
	fprintf(stderr, "%s: %.2fuser %.2fsys %.2freal %.0f%% cpu\n", tag, user, sys, real,
	    100.0 * (user + sys) / real);
	fprintf(stderr, "%s: bytes=%llu seconds=%.6f MBps=%.2f\n", tag,
	    (unsigned long long)res->bytes, real, mbps);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage addr, peer;
	socklen_t addrlen, peerlen;
	struct rusage ru0, ru1;
	struct result res;
	unsigned char *pat = NULL, *buf;
	const char *host = NULL;
	char astr[INET6_ADDRSTRLEN + 16];
	int c, fd;

	while ((c = getopt(argc, argv, "trsn:l:p:uDb:46vch")) != -1) {
		switch (c) {
		case 't':
			trans = 1;
			break;
		case 'r':
			trans = 0;
			break;
		case 's':
			sinkmode = 1;
			break;
		case 'n':
			nbuf = parse_num(optarg, "buffer count", 1, UINT64_MAX >> 1);
			break;
		case 'l':
			buflen = (size_t)parse_num(optarg, "buffer length", 1, 1u << 30);
			break;
		case 'p':
			port = (unsigned)parse_num(optarg, "port", 0, 65535);
			break;
		case 'u':
			udp = 1;
			break;
		case 'D':
			nodelay = 1;
			break;
		case 'b':
			sockbufsize = (int)parse_num(optarg, "socket buffer size", 1, 1u << 30);
			break;
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'c':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (trans < 0)
		usage();
	tag = trans ? "ttcp-t" : "ttcp-r";
	if (trans) {
		if (optind != argc - 1)
			usage();
		host = argv[optind];
	} else if (optind != argc) {
		usage();
	}
	if (check && !sinkmode)
		failx("-c needs -s (only the generated pattern can be checked)");
	if (udp && buflen <= UDP_MARKER_LEN)
		failx("with -u the buffer length must exceed %d bytes", UDP_MARKER_LEN);
	if (udp && buflen > 65507)
		failx("with -u the buffer length must be at most 65507 bytes");

	signal(SIGPIPE, SIG_IGN);
	memset(&res, 0, sizeof(res));
	if ((buf = malloc(buflen)) == NULL)
		failx("out of memory");
	if (sinkmode && (pat = pattern_table(buflen)) == NULL)
		failx("out of memory");

	fd = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd == -1)
		fail("socket");
	if (sockbufsize > 0)
		set_int_opt(fd, SOL_SOCKET, trans ? SO_SNDBUF : SO_RCVBUF, sockbufsize,
		    trans ? "setsockopt SO_SNDBUF" : "setsockopt SO_RCVBUF");

	if (trans) {
		addrlen = make_addr(&addr, host);
		print_header(host);
		if (!udp) {
			if (nodelay)
				set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1,
				    "setsockopt TCP_NODELAY");
			while (connect(fd, (struct sockaddr *)&addr, addrlen) == -1) {
				if (errno != EINTR)
					fail("connect");
			}
			if (verbose) {
				peerlen = sizeof(peer);
				if (getsockname(fd, (struct sockaddr *)&peer, &peerlen) == 0)
					note("connected from %s",
					    addr_str(&peer, astr, sizeof(astr)));
				show_sockbufs(fd);
			}
		}
		getrusage(RUSAGE_SELF, &ru0);
		res.start = now();
		if (udp)
			udp_transmit(fd, &addr, addrlen, pat, buf, &res);
		else
			tcp_transmit(fd, pat, buf, &res);
	} else {
		set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR");
		addrlen = make_addr(&addr, NULL);
		if (bind(fd, (struct sockaddr *)&addr, addrlen) == -1)
			fail("bind");
		if (port == 0) {
			peerlen = sizeof(peer);
			if (getsockname(fd, (struct sockaddr *)&peer, &peerlen) == -1)
				fail("getsockname");
			port = ntohs(peer.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&peer)->sin6_port :
			    ((struct sockaddr_in *)&peer)->sin_port);
		}
		print_header(NULL);
		if (udp) {
			getrusage(RUSAGE_SELF, &ru0);
			udp_receive(fd, pat, buf, &res);
		} else {
			int afd;

			if (listen(fd, 1) == -1)
				fail("listen");
			for (;;) {
				peerlen = sizeof(peer);
				afd = accept(fd, (struct sockaddr *)&peer, &peerlen);
				if (afd >= 0)
					break;
				if (errno != EINTR && errno != ECONNABORTED)
					fail("accept");
			}
			if (close(fd) == -1)
				fail("close");
			fprintf(stderr, "%s: accept from %s\n", tag,
			    addr_str(&peer, astr, sizeof(astr)));
			if (nodelay)
				set_int_opt(afd, IPPROTO_TCP, TCP_NODELAY, 1,
				    "setsockopt TCP_NODELAY");
			if (verbose)
				show_sockbufs(afd);
			getrusage(RUSAGE_SELF, &ru0);
			res.start = now();
			tcp_receive(afd, pat, buf, &res);
		}
	}
	getrusage(RUSAGE_SELF, &ru1);
	report(&res, &ru0, &ru1);
	free(buf);
	free(pat);
	return 0;
}
