/*
 * netconfig_test -- bad network configuration from C gets the errno a NetBSD kernel gives:
 * interface ioctls, routing socket messages, __sysctl and the rump_pub_netconfig_* helpers.
 *
 * Run by librump/tests/c_programs.rs without RUMP_NET (the kernel's own stack, lo0 only);
 * it creates mem0 and mem1 itself.  Prints one PASS or FAIL line per check and a closing
 * "N passed, N failed" line; exits 1 if any check failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#define RT_ROUNDUP(a) \
	((a) > 0 ? (1 + (((a) - 1) | (sizeof(uint64_t) - 1))) : sizeof(uint64_t))

static int passed, failed;

static void pass(const char *what)
{
	passed++;
	printf("PASS %s\n", what);
}

/* A rump_sys_* call that must fail with want_errno. */
static void check(const char *what, long rv, int want_errno)
{
	int e = errno;

	if (rv == -1 && e == want_errno) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s: rv=%ld errno=%d (%s), want -1 errno=%d (%s)\n", what, rv, e,
		    rump_pub_errno_name(e), want_errno, rump_pub_errno_name(want_errno));
	}
}

/* A rump_sys_* call that must succeed. */
static void check_ok(const char *what, long rv)
{
	if (rv >= 0) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s: rv=%ld errno=%d (%s)\n", what, rv, errno, rump_pub_errno_name(errno));
	}
}

/* A rump_pub_* helper, which returns the errno (0 for success). */
static void check_rv(const char *what, int rv, int want)
{
	if (rv == want) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s: returned %d (%s), want %d (%s)\n", what, rv, rump_pub_errno_name(rv),
		    want, rump_pub_errno_name(want));
	}
}

static void expect(const char *what, int ok)
{
	if (ok) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s\n", what);
	}
}

static struct rump_sockaddr_in sin_of(const char *a)
{
	struct rump_sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_addr.s_addr = inet_addr(a);
	return sin;
}

static struct rump_ifreq ifreq_of(const char *name)
{
	struct rump_ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, sizeof(ifr.ifr_name) - 1);
	return ifr;
}

/* A routing message: the header and room for sockaddrs. */
struct rtmsg {
	struct rump_rt_msghdr rtm;
	char space[512];
};

/* An RTM_ADD or RTM_DELETE of DST/MASK through GW, as route(8) builds it. */
static size_t route_msg(struct rtmsg *m, int type, const char *dst, const char *mask,
    const char *gw)
{
	struct rump_sockaddr_in sin;
	char *cp = m->space;

	memset(m, 0, sizeof(*m));
	m->rtm.rtm_type = (uint8_t)type;
	m->rtm.rtm_version = RUMP_RTM_VERSION;
	m->rtm.rtm_flags = RUMP_RTF_UP | RUMP_RTF_GATEWAY | RUMP_RTF_STATIC;
	m->rtm.rtm_seq = 1;
	m->rtm.rtm_addrs = RUMP_RTA_DST | RUMP_RTA_GATEWAY | RUMP_RTA_NETMASK;
	sin = sin_of(dst);
	memcpy(cp, &sin, sizeof(sin));
	cp += RT_ROUNDUP(sizeof(sin));
	sin = sin_of(gw);
	memcpy(cp, &sin, sizeof(sin));
	cp += RT_ROUNDUP(sizeof(sin));
	sin = sin_of(mask);
	memcpy(cp, &sin, sizeof(sin));
	cp += RT_ROUNDUP(sizeof(sin));
	m->rtm.rtm_msglen = (uint16_t)(cp - (char *)m);
	return m->rtm.rtm_msglen;
}

static void interfaces(int s)
{
	union {
		struct rump_ifaliasreq ia;
		struct rump_sockaddr_in align;
	} u;
	struct rump_sockaddr_in sin;
	struct rump_ifreq ifr;
	struct rump_ifconf ifc;

	memset(&u, 0, sizeof(u));
	strcpy(u.ia.ifra_name, "nosuch0");
	sin = sin_of("10.0.3.1");
	memcpy(&u.ia.ifra_addr, &sin, sizeof(sin));
	sin = sin_of("255.255.255.0");
	memcpy(&u.ia.ifra_mask, &sin, sizeof(sin));
	check("SIOCAIFADDR on a missing interface is ENXIO",
	    rump_sys_ioctl(s, RUMP_SIOCAIFADDR, &u.ia), RUMP_ENXIO);
	strcpy(u.ia.ifra_name, "mem0");
	check_ok("SIOCAIFADDR on mem0", rump_sys_ioctl(s, RUMP_SIOCAIFADDR, &u.ia));

	ifr = ifreq_of("mem1");
	check("SIOCGIFADDR on an interface without address is EADDRNOTAVAIL",
	    rump_sys_ioctl(s, RUMP_SIOCGIFADDR, &ifr), RUMP_EADDRNOTAVAIL);
	ifr = ifreq_of("mem0");
	sin = sin_of("10.0.3.99");
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	check("SIOCDIFADDR of an address the interface lacks is EADDRNOTAVAIL",
	    rump_sys_ioctl(s, RUMP_SIOCDIFADDR, &ifr), RUMP_EADDRNOTAVAIL);
	ifr = ifreq_of("mem0");
	ifr.ifr_mtu = 10;
	check("SIOCSIFMTU 10 is EINVAL", rump_sys_ioctl(s, RUMP_SIOCSIFMTU, &ifr), RUMP_EINVAL);
	ifr = ifreq_of("mem0");
	check_ok("SIOCGIFFLAGS", rump_sys_ioctl(s, RUMP_SIOCGIFFLAGS, &ifr));
	expect("mem0 is UP and RUNNING after SIOCAIFADDR",
	    (ifr.ifr_flags & (RUMP_IFF_UP | RUMP_IFF_RUNNING)) == (RUMP_IFF_UP | RUMP_IFF_RUNNING));

	memset(&ifc, 0, sizeof(ifc));
	ifc.ifc_buf = NULL;
	check_ok("SIOCGIFCONF with a NULL buffer", rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc));
	expect("SIOCGIFCONF reports 3 entries' length (lo0, mem0, mem1)",
	    ifc.ifc_len == 3 * (int)sizeof(struct rump_ifreq));
	ifc.ifc_len = -1;
	ifc.ifc_req = &ifr;
	check("SIOCGIFCONF with a negative length is EINVAL",
	    rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc), RUMP_EINVAL);
	ifc.ifc_len = (int)sizeof(ifr) + 10;
	check_ok("SIOCGIFCONF into room for one entry", rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc));
	expect("SIOCGIFCONF writes only whole entries",
	    ifc.ifc_len == (int)sizeof(ifr) && strcmp(ifr.ifr_name, "lo0") == 0);
	ifc.ifc_len = (int)sizeof(ifr);
	ifc.ifc_req = (struct rump_ifreq *)(uintptr_t)16;
	check("SIOCGIFCONF into a bad pointer is EFAULT",
	    rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc), RUMP_EFAULT);
	check("SIOCGIFCONF with a NULL ifconf is EFAULT",
	    rump_sys_ioctl(s, RUMP_SIOCGIFCONF, NULL), RUMP_EFAULT);
	check("SIOCGIFCONF on a bad descriptor is EBADF",
	    rump_sys_ioctl(99, RUMP_SIOCGIFCONF, &ifc), RUMP_EBADF);
}

static void routes(void)
{
	struct rtmsg m, reply;
	size_t len;
	int r, r2;

	r = rump_sys_socket(RUMP_PF_ROUTE, RUMP_SOCK_RAW, 0);
	check_ok("routing socket", r);
	r2 = rump_sys_socket(RUMP_PF_ROUTE, RUMP_SOCK_RAW, 0);
	check_ok("second routing socket", r2);

	len = route_msg(&m, RUMP_RTM_DELETE, "10.9.0.0", "255.255.0.0", "10.0.3.2");
	check("RTM_DELETE of a missing route is ESRCH", rump_sys_write(r, &m, len), RUMP_ESRCH);
	check_ok("the reply comes back", rump_sys_read(r, &reply, sizeof(reply)));
	expect("the reply carries rtm_errno ESRCH", reply.rtm.rtm_errno == RUMP_ESRCH);
	check_ok("the other routing socket hears it too", rump_sys_read(r2, &reply, sizeof(reply)));

	len = route_msg(&m, RUMP_RTM_ADD, "10.9.0.0", "255.255.0.0", "10.0.3.2");
	check_ok("RTM_ADD", rump_sys_write(r, &m, len));
	check_ok("its reply", rump_sys_read(r, &reply, sizeof(reply)));
	expect("the reply says RTF_DONE", (reply.rtm.rtm_flags & RUMP_RTF_DONE) != 0 &&
	    reply.rtm.rtm_errno == 0 && reply.rtm.rtm_seq == 1);
	check("RTM_ADD twice is EEXIST", rump_sys_write(r, &m, len), RUMP_EEXIST);
	len = route_msg(&m, RUMP_RTM_ADD, "10.8.0.0", "255.255.0.0", "172.16.0.1");
	check("RTM_ADD through a gateway on no attached subnet is ENETUNREACH",
	    rump_sys_write(r, &m, len), RUMP_ENETUNREACH);

	len = route_msg(&m, RUMP_RTM_ADD, "10.7.0.0", "255.255.0.0", "10.0.3.2");
	m.rtm.rtm_msglen = 100;
	check("a truncated routing message is EINVAL", rump_sys_write(r, &m, 100), RUMP_EINVAL);
	len = route_msg(&m, RUMP_RTM_ADD, "10.7.0.0", "255.255.0.0", "10.0.3.2");
	m.rtm.rtm_version = 3;
	check("a routing message of version 3 is EPROTONOSUPPORT", rump_sys_write(r, &m, len),
	    RUMP_EPROTONOSUPPORT);
	len = route_msg(&m, RUMP_RTM_ADD, "10.7.0.0", "255.255.0.0", "10.0.3.2");
	m.rtm.rtm_addrs = RUMP_RTA_DST | RUMP_RTA_NETMASK;
	memmove(m.space + 16, m.space + 32, 16);
	m.rtm.rtm_msglen = (uint16_t)(len - 16);
	check("RTM_ADD without a gateway is EINVAL", rump_sys_write(r, &m, len - 16), RUMP_EINVAL);
	check("sendto a routing socket with an address is EISCONN",
	    rump_sys_sendto(r, &m, len, 0, (const struct rump_sockaddr *)m.space, 16), RUMP_EISCONN);

	rump_sys_close(r);
	rump_sys_close(r2);
}

static void sysctls(void)
{
	int fwd[4] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_IP, RUMP_IPCTL_FORWARDING };
	int unknown[4] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_IP, 999 };
	int ostype[2] = { RUMP_CTL_KERN, RUMP_KERN_OSTYPE };
	int big[RUMP_CTL_MAXNAME + 1];
	int v = 0, one = 1;
	short two = 1;
	char small[2], name[32];
	size_t len;

	memset(big, 0, sizeof(big));
	len = sizeof(v);
	check("__sysctl of an unknown name is ENOENT",
	    rump_sys___sysctl(unknown, 4, &v, &len, NULL, 0), RUMP_ENOENT);
	len = sizeof(name);
	check("a write to a read-only node is EPERM",
	    rump_sys___sysctl(ostype, 2, name, &len, "Linux", 6), RUMP_EPERM);
	len = sizeof(name);
	check_ok("kern.ostype reads", rump_sys___sysctl(ostype, 2, name, &len, NULL, 0));
	expect("kern.ostype is NetBSD", len == 7 && strcmp(name, "NetBSD") == 0);
	check("a 2-byte write to an int is EINVAL",
	    rump_sys___sysctl(fwd, 4, NULL, NULL, &two, sizeof(two)), RUMP_EINVAL);
	len = sizeof(small);
	check("a 2-byte buffer for an int is ENOMEM",
	    rump_sys___sysctl(fwd, 4, small, &len, NULL, 0), RUMP_ENOMEM);
	expect("ENOMEM reports the length needed", len == sizeof(int));
	len = 0;
	check_ok("a NULL buffer only reports the length",
	    rump_sys___sysctl(fwd, 4, NULL, &len, NULL, 0));
	expect("the length of an int", len == sizeof(int));
	check("a NULL name is EFAULT", rump_sys___sysctl(NULL, 4, &v, &len, NULL, 0), RUMP_EFAULT);
	check("a name of 0 components is EINVAL", rump_sys___sysctl(fwd, 0, &v, &len, NULL, 0),
	    RUMP_EINVAL);
	check("a name longer than CTL_MAXNAME is EINVAL",
	    rump_sys___sysctl(big, RUMP_CTL_MAXNAME + 1, &v, &len, NULL, 0), RUMP_EINVAL);
	check("a name ending at a node is EINVAL", rump_sys___sysctl(fwd, 3, &v, &len, NULL, 0),
	    RUMP_EINVAL);
	len = sizeof(v);
	check("a bad length pointer is EFAULT",
	    rump_sys___sysctl(fwd, 4, &v, (size_t *)(uintptr_t)8, NULL, 0), RUMP_EFAULT);
	len = sizeof(v);
	v = -1;
	check_ok("set net.inet.ip.forwarding", rump_sys___sysctl(fwd, 4, &v, &len, &one, sizeof(one)));
	expect("the old value comes back", v == 0 && len == sizeof(v));
}

/* TCP over lo0: TCP_INFO, TCP_CONGCTL, IP_TTL on a stream socket, net.inet.tcp.* */
static void tcp(void)
{
	int stats[4] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_TCP, RUMP_TCPCTL_STATS };
	int sack[5] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_TCP, RUMP_TCPCTL_SACK, 1 };
	struct rump_sockaddr_in sin = sin_of("127.0.0.1");
	struct rump_tcp_info ti;
	uint64_t st[RUMP_TCP_NSTATS];
	char cc[16];
	int l, c, a, v, one = 1, ttl = 9;
	size_t len;
	rump_socklen_t olen;

	l = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_STREAM, 0);
	check_ok("TCP listener", l);
	sin.sin_port = htons(7777);
	check_ok("bind 127.0.0.1:7777", rump_sys_bind(l, (struct rump_sockaddr *)&sin,
	    sizeof(sin)));
	check_ok("listen", rump_sys_listen(l, 4));
	c = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_STREAM, 0);
	check_ok("connect", rump_sys_connect(c, (struct rump_sockaddr *)&sin, sizeof(sin)));
	a = rump_sys_accept(l, NULL, NULL);
	check_ok("accept", a);

	olen = sizeof(ti);
	memset(&ti, 0xff, sizeof(ti));
	check_ok("getsockopt TCP_INFO", rump_sys_getsockopt(c, RUMP_IPPROTO_TCP, RUMP_TCP_INFO,
	    &ti, &olen));
	expect("TCP_INFO fills the whole struct", olen == sizeof(ti) && sizeof(ti) == 236);
	expect("tcpi_state is ESTABLISHED", ti.tcpi_state == RUMP_TCPS_ESTABLISHED);
	expect("tcpi_options: timestamps, SACK, window scaling", ti.tcpi_options ==
	    (RUMP_TCPI_OPT_TIMESTAMPS | RUMP_TCPI_OPT_SACK | RUMP_TCPI_OPT_WSCALE));
	expect("tcpi_snd_mss is lo0's MTU less 40", ti.tcpi_snd_mss == 33624 - 40);
	expect("tcpi_snd_cwnd is at least 2 segments", ti.tcpi_snd_cwnd >= 2 * ti.tcpi_snd_mss);
	check("setsockopt TCP_INFO is EINVAL", rump_sys_setsockopt(c, RUMP_IPPROTO_TCP,
	    RUMP_TCP_INFO, &one, sizeof(one)), RUMP_EINVAL);

	check_ok("TCP_CONGCTL cubic", rump_sys_setsockopt(c, RUMP_IPPROTO_TCP, RUMP_TCP_CONGCTL,
	    "cubic", 6));
	olen = sizeof(cc);
	check_ok("getsockopt TCP_CONGCTL", rump_sys_getsockopt(c, RUMP_IPPROTO_TCP,
	    RUMP_TCP_CONGCTL, cc, &olen));
	expect("TCP_CONGCTL reads cubic", strcmp(cc, "cubic") == 0 && olen == 6);
	check("TCP_CONGCTL of an unknown name is EINVAL", rump_sys_setsockopt(c,
	    RUMP_IPPROTO_TCP, RUMP_TCP_CONGCTL, "vegas", 6), RUMP_EINVAL);

	check_ok("IP_TTL on a TCP socket", rump_sys_setsockopt(c, RUMP_IPPROTO_IP, RUMP_IP_TTL,
	    &ttl, sizeof(ttl)));
	olen = sizeof(v);
	check_ok("getsockopt IP_TTL", rump_sys_getsockopt(c, RUMP_IPPROTO_IP, RUMP_IP_TTL, &v,
	    &olen));
	expect("IP_TTL reads back", v == 9);
	check("a negative IP_TTL is EINVAL", rump_sys_setsockopt(c, RUMP_IPPROTO_IP, RUMP_IP_TTL,
	    &(int){ -2 }, sizeof(int)), RUMP_EINVAL);

	len = sizeof(st);
	check_ok("net.inet.tcp.stats", rump_sys___sysctl(stats, 4, st, &len, NULL, 0));
	expect("TCP_NSTATS counters", len == sizeof(st));
	expect("one connection attempted, two established",
	    st[RUMP_TCP_STAT_CONNATTEMPT] == 1 && st[RUMP_TCP_STAT_CONNECTS] == 2);
	expect("segments sent are counted", st[RUMP_TCP_STAT_SNDTOTAL] >= 3);
	check("net.inet.tcp.stats is read-only", rump_sys___sysctl(stats, 4, NULL, NULL, st,
	    sizeof(st)), RUMP_EPERM);
	v = 2;
	check("net.inet.tcp.sack.enable takes 0 or 1", rump_sys___sysctl(sack, 5, NULL, NULL, &v,
	    sizeof(v)), RUMP_EINVAL);

	rump_sys_close(a);
	rump_sys_close(c);
	rump_sys_close(l);
}

static void helpers(void)
{
	check_rv("rump_pub_netconfig_ifcreate twice is EEXIST",
	    rump_pub_netconfig_ifcreate("mem0"), RUMP_EEXIST);
	check_rv("rump_pub_netconfig_ifcreate of lo0 is EEXIST",
	    rump_pub_netconfig_ifcreate("lo0"), RUMP_EEXIST);
	check_rv("rump_pub_netconfig_ifcreate of an unknown kind is ENXIO",
	    rump_pub_netconfig_ifcreate("foo0"), RUMP_ENXIO);
	check_rv("rump_pub_netconfig_ifcreate(NULL) is EFAULT",
	    rump_pub_netconfig_ifcreate(NULL), RUMP_EFAULT);
	check_rv("ipv4_ifaddr with a bad address is EINVAL",
	    rump_pub_netconfig_ipv4_ifaddr("mem1", "10.0.4.300", "255.255.255.0"), RUMP_EINVAL);
	check_rv("ipv4_ifaddr with a non-contiguous mask is EINVAL",
	    rump_pub_netconfig_ipv4_ifaddr("mem1", "10.0.4.1", "255.0.255.0"), RUMP_EINVAL);
	check_rv("ipv4_ifaddr on a missing interface is ENXIO",
	    rump_pub_netconfig_ipv4_ifaddr("mem7", "10.0.4.1", "255.255.255.0"), RUMP_ENXIO);
	check_rv("ipv4_ifaddr with a NULL mask is EFAULT",
	    rump_pub_netconfig_ipv4_ifaddr("mem1", "10.0.4.1", NULL), RUMP_EFAULT);
	check_rv("ipv4_gw through no attached subnet is ENETUNREACH",
	    rump_pub_netconfig_ipv4_gw("10.0.4.2"), RUMP_ENETUNREACH);
	check_rv("ipv4_ifaddr on mem1", rump_pub_netconfig_ipv4_ifaddr("mem1", "10.0.4.1",
	    "255.255.255.0"), 0);
	check_rv("ipv4_gw", rump_pub_netconfig_ipv4_gw("10.0.4.2"), 0);
	check_rv("ipv4_gw twice is EEXIST", rump_pub_netconfig_ipv4_gw("10.0.4.2"), RUMP_EEXIST);
	check_rv("ifdown", rump_pub_netconfig_ifdown("mem1"), 0);
	check_rv("ifup", rump_pub_netconfig_ifup("mem1"), 0);
	check_rv("ifup of a missing interface is ENXIO", rump_pub_netconfig_ifup("mem9"),
	    RUMP_ENXIO);
	check_rv("ifup of a name too long is ENXIO",
	    rump_pub_netconfig_ifup("mem0123456789abcdef"), RUMP_ENXIO);
}

int main(void)
{
	int s;

	check_rv("ifcreate before rump_init is ENOSYS", rump_pub_netconfig_ifcreate("mem0"),
	    RUMP_ENOSYS);
	if (rump_init() != 0) {
		printf("FAIL rump_init\n");
		return 1;
	}
	check_rv("rump_pub_netconfig_ifcreate mem0", rump_pub_netconfig_ifcreate("mem0"), 0);
	check_rv("rump_pub_netconfig_ifcreate mem1", rump_pub_netconfig_ifcreate("mem1"), 0);
	s = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	check_ok("configuration socket", s);

	interfaces(s);
	routes();
	sysctls();
	tcp();
	helpers();
	rump_sys_close(s);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
