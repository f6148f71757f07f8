/*
 * macro_test -- the paper's Figure 4 on Linux: a host program, host structs, host
 * constants, host errno values, every wrapped call moved onto the virtual kernel by
 * <rump/rumpmacro.h>.  Run with RUMP_NET=sockin and a closed port number; prints one
 * line per check and "N passed, N failed".
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define RUMP_MACRO_RW
#include <rump/rumpmacro.h>

static int passed, failed;

#define CHECK(what, cond) do { \
	if (cond) { passed++; printf("PASS %s\n", what); } \
	else { failed++; printf("FAIL %s (errno %d: %s)\n", what, errno, strerror(errno)); } \
} while (0)

int main(int argc, char **argv)
{
	struct sockaddr_in sin, peer;
	struct sockaddr_in6 sin6, from6;
	socklen_t len;
	int l, c, a, u, v, one = 1, val;
	char buf[64];
	struct iovec iov[2];
	struct msghdr msg;
	struct pollfd pfd;
	fd_set rset;
	struct timeval tv;

	if (argc != 2) {
		fprintf(stderr, "usage: macro_test CLOSED_PORT\n");
		return 2;
	}

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK("socket with SOCK_CLOEXEC", l >= 0);
	CHECK("setsockopt SO_REUSEADDR", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK("bind 127.0.0.1:0", bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK("listen", listen(l, 5) == 0);
	len = sizeof(sin);
	CHECK("getsockname gives a host sockaddr_in",
	    getsockname(l, (struct sockaddr *)&sin, &len) == 0 && len == sizeof(sin) &&
	    sin.sin_family == AF_INET && sin.sin_port != 0);

	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("setsockopt TCP_NODELAY", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
	CHECK("connect", connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	len = sizeof(peer);
	a = accept4(l, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK);
	CHECK("accept4 with SOCK_NONBLOCK", a >= 0 && peer.sin_family == AF_INET);
	CHECK("recv on the empty non-blocking socket is EAGAIN",
	    recv(a, buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
	len = sizeof(peer);
	CHECK("getpeername", getpeername(c, (struct sockaddr *)&peer, &len) == 0 &&
	    peer.sin_port == sin.sin_port);
	len = sizeof(val);
	CHECK("getsockopt SO_TYPE is the host's SOCK_STREAM",
	    getsockopt(c, SOL_SOCKET, SO_TYPE, &val, &len) == 0 && val == SOCK_STREAM);
	tv.tv_sec = 2;
	tv.tv_usec = 500000;
	CHECK("setsockopt SO_RCVTIMEO (host timeval)", setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	memset(&tv, 0, sizeof(tv));
	len = sizeof(tv);
	CHECK("getsockopt SO_RCVTIMEO round-trips",
	    getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0 && tv.tv_sec == 2 && tv.tv_usec == 500000);

	CHECK("write", write(c, "hello", 5) == 5);
	CHECK("send", send(c, " world", 6, 0) == 6);
	pfd.fd = a;
	pfd.events = POLLIN;
	CHECK("poll sees data", poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN));
	FD_ZERO(&rset);
	FD_SET(a, &rset);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	CHECK("select sees data", select(a + 1, &rset, NULL, NULL, &tv) == 1 && FD_ISSET(a, &rset));
	memset(buf, 0, sizeof(buf));
	CHECK("recv MSG_PEEK|MSG_WAITALL", recv(a, buf, 11, MSG_PEEK | MSG_WAITALL) >= 1);
	memset(buf, 0, sizeof(buf));
	iov[0].iov_base = buf;
	iov[0].iov_len = 5;
	iov[1].iov_base = buf + 5;
	iov[1].iov_len = 6;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	{
		ssize_t got = 0, n;
		int tries;

		for (tries = 0; got < 11 && tries < 100; tries++) {
			n = recvmsg(a, &msg, 0);
			if (n > 0) {
				got += n;
				iov[0].iov_base = buf + got;
				iov[0].iov_len = got < 11 ? (size_t)(11 - got) : 0;
				iov[1].iov_len = 0;
			} else {
				poll(&pfd, 1, 100);
			}
		}
		CHECK("recvmsg scatters the stream", got == 11 && memcmp(buf, "hello world", 11) == 0);
	}
	iov[0].iov_base = "ab";
	iov[0].iov_len = 2;
	iov[1].iov_base = "cd";
	iov[1].iov_len = 2;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	CHECK("sendmsg gathers", sendmsg(a, &msg, 0) == 4);
	CHECK("shutdown SHUT_WR", shutdown(a, SHUT_WR) == 0);
	memset(buf, 0, sizeof(buf));
	CHECK("read", read(c, buf, 4) == 4 && memcmp(buf, "abcd", 4) == 0);
	CHECK("EOF after the peer's shutdown", read(c, buf, sizeof(buf)) == 0);
	CHECK("close", close(a) == 0 && close(c) == 0 && close(l) == 0);

	/* UDP over IPv6 with sockaddr_in6. */
	u = socket(AF_INET6, SOCK_DGRAM, 0);
	v = socket(AF_INET6, SOCK_DGRAM, 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	CHECK("bind ::1", bind(u, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
	len = sizeof(sin6);
	CHECK("getsockname v6", getsockname(u, (struct sockaddr *)&sin6, &len) == 0 && sin6.sin6_family == AF_INET6);
	CHECK("sendto v6", sendto(v, "dgram", 5, 0, (struct sockaddr *)&sin6, sizeof(sin6)) == 5);
	len = sizeof(from6);
	memset(buf, 0, sizeof(buf));
	CHECK("recvfrom v6 with the sender's address",
	    recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from6, &len) == 5 &&
	    from6.sin6_family == AF_INET6 && memcmp(buf, "dgram", 5) == 0);

	/* Errors come back in the host's numbering. */
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("connect to a closed port is ECONNREFUSED (host value)",
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno == ECONNREFUSED);
	CHECK("bind on a bad descriptor is EBADF", bind(777, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno == EBADF);
	CHECK("unknown option is ENOPROTOOPT",
	    setsockopt(u, SOL_SOCKET, 0x7777, &one, sizeof(one)) == -1 && errno == ENOPROTOOPT);
	CHECK("unknown family is EAFNOSUPPORT", socket(12345, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT);
	CHECK("send on an unconnected stream is ENOTCONN or EPIPE",
	    send(socket(AF_INET, SOCK_STREAM, 0), "x", 1, 0) == -1 && (errno == ENOTCONN || errno == EPIPE));
	close(u);
	close(v);
	close(c);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
