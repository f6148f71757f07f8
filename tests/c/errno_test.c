/*
 * errno_test -- bad input from C gets the errno a NetBSD kernel gives.
 *
 * Run by librump/tests/c_programs.rs with RUMP_NET=sockin and the number of a closed
 * port on 127.0.0.1 as its argument.  Prints one line per check and a closing
 * "N passed, N failed" line; exits 1 if any check failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

static int passed, failed;

static void check(const char *what, long rv, int want_errno)
{
	int e = errno;

	if (rv == -1 && e == want_errno) {
		passed++;
		printf("PASS %s\n", what);
	} else {
		failed++;
		printf("FAIL %s: rv=%ld errno=%d (%s), want -1 errno=%d (%s)\n", what, rv, e,
		    rump_pub_errno_name(e), want_errno, rump_pub_errno_name(want_errno));
	}
}

static void check_ok(const char *what, long rv)
{
	if (rv >= 0) {
		passed++;
		printf("PASS %s\n", what);
	} else {
		failed++;
		printf("FAIL %s: rv=%ld errno=%d (%s)\n", what, rv, errno,
		    rump_pub_errno_name(errno));
	}
}

static struct rump_sockaddr_in loopback(unsigned port)
{
	struct rump_sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_port = (uint16_t)((port >> 8) | ((port & 0xff) << 8));
	sin.sin_addr.s_addr = 0x0100007f; /* 127.0.0.1 in network order, little-endian host */
	return sin;
}

int main(int argc, char **argv)
{
	struct rump_sockaddr_in sin;
	struct rump_pollfd pfd;
	rump_socklen_t len;
	unsigned closed_port;
	char unaligned[sizeof(struct rump_sockaddr_in) + 1];
	char buf[16];
	int s, u, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: errno_test CLOSED_PORT\n");
		return 2;
	}
	closed_port = (unsigned)atoi(argv[1]);

	check("socket before rump_init is ENOSYS", rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_STREAM, 0), RUMP_ENOSYS);
	if (rump_init() != 0) {
		printf("FAIL rump_init\n");
		return 1;
	}
	check_ok("rump_init twice", -rump_init());

	check("unknown family", rump_sys_socket(77, RUMP_SOCK_STREAM, 0), RUMP_EAFNOSUPPORT);
	check("AF_LOCAL socketpair", rump_sys_socketpair(RUMP_AF_LOCAL, RUMP_SOCK_STREAM, 0, (int[2]){0, 0}), RUMP_EOPNOTSUPP);
	check("unknown socket type flag", rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_STREAM | (int)0x80000000, 0), RUMP_EINVAL);
	check("unknown socket type", rump_sys_socket(RUMP_AF_INET, 0x4000, 0), RUMP_EPROTOTYPE);
	check("TCP over a datagram socket", rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_DGRAM, RUMP_IPPROTO_TCP), RUMP_EPROTONOSUPPORT);
	check("close of a closed descriptor", rump_sys_close(999), RUMP_EBADF);
	check("close(-1)", rump_sys_close(-1), RUMP_EBADF);

	s = rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_STREAM, 0);
	check_ok("socket", s);
	u = rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_DGRAM, 0);
	check_ok("udp socket", u);

	check("bind with NULL address", rump_sys_bind(s, NULL, sizeof(sin)), RUMP_EFAULT);
	sin = loopback(0);
	check("bind with a short address", rump_sys_bind(s, (struct rump_sockaddr *)&sin, 4), RUMP_EINVAL);
	sin.sin_family = 99;
	check("bind with an unknown family", rump_sys_bind(s, (struct rump_sockaddr *)&sin, sizeof(sin)), RUMP_EAFNOSUPPORT);
	check("bind on a bad descriptor", rump_sys_bind(555, (struct rump_sockaddr *)&sin, sizeof(sin)), RUMP_EBADF);
	check("setsockopt of an unknown option", rump_sys_setsockopt(s, RUMP_SOL_SOCKET, 0x7777, &one, sizeof(one)), RUMP_ENOPROTOOPT);
	check("setsockopt of an unknown level", rump_sys_setsockopt(s, 12345, 1, &one, sizeof(one)), RUMP_ENOPROTOOPT);
	check("setsockopt with NULL value", rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR, NULL, sizeof(one)), RUMP_EFAULT);
	check("setsockopt with a short value", rump_sys_setsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR, &one, 1), RUMP_EINVAL);
	check("getsockopt with NULL length", rump_sys_getsockopt(s, RUMP_SOL_SOCKET, RUMP_SO_TYPE, &one, NULL), RUMP_EFAULT);
	check("read of an unconnected stream", rump_sys_read(s, buf, sizeof(buf)), RUMP_ENOTCONN);
	check("recvfrom into NULL", rump_sys_recvfrom(u, NULL, 10, RUMP_MSG_DONTWAIT, NULL, NULL), RUMP_EFAULT);
	check("send without a destination", rump_sys_sendto(u, "x", 1, 0, NULL, 0), RUMP_EDESTADDRREQ);
	check("poll of NULL", rump_sys_poll(NULL, 1, 0), RUMP_EFAULT);
	check("listen on UDP", rump_sys_listen(u, 5), RUMP_EOPNOTSUPP);
	check("shutdown with a bad how", rump_sys_shutdown(s, 7), RUMP_EINVAL);
	check("getpeername unconnected", rump_sys_getpeername(s, (struct rump_sockaddr *)&sin, &len), RUMP_ENOTCONN);

	sin = loopback(closed_port);
	check("connect to a closed port", rump_sys_connect(s, (struct rump_sockaddr *)&sin, sizeof(sin)), RUMP_ECONNREFUSED);

	/* A misaligned sockaddr works, as copyin on a BSD kernel. */
	sin = loopback(0);
	memcpy(unaligned + 1, &sin, sizeof(sin));
	check_ok("bind through a misaligned pointer", rump_sys_bind(u, (struct rump_sockaddr *)(void *)(unaligned + 1), sizeof(sin)));
	len = sizeof(sin);
	check_ok("getsockname", rump_sys_getsockname(u, (struct rump_sockaddr *)&sin, &len));
	if (len != sizeof(sin) || sin.sin_len != sizeof(sin) || sin.sin_family != RUMP_AF_INET || sin.sin_port == 0) {
		failed++;
		printf("FAIL getsockname result: len=%u sin_len=%u family=%u\n", len, sin.sin_len, sin.sin_family);
	}
	pfd.fd = u;
	pfd.events = RUMP_POLLOUT;
	pfd.revents = 0;
	check_ok("poll for writing", rump_sys_poll(&pfd, 1, 0));
	if (pfd.revents != RUMP_POLLOUT) {
		failed++;
		printf("FAIL poll revents %#x\n", (unsigned)pfd.revents);
	}
	pfd.fd = 400;
	pfd.events = RUMP_POLLIN;
	check_ok("poll of a closed descriptor", rump_sys_poll(&pfd, 1, 0));
	if (pfd.revents != RUMP_POLLNVAL) {
		failed++;
		printf("FAIL poll of a closed descriptor gives %#x, not POLLNVAL\n", (unsigned)pfd.revents);
	}
	check_ok("fcntl F_GETFL", rump_sys_fcntl(s, RUMP_F_GETFL, 0));
	check("fcntl of an unknown command", rump_sys_fcntl(s, 4242, 0), RUMP_EINVAL);
	check_ok("close", rump_sys_close(s));
	check_ok("close udp", rump_sys_close(u));

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
