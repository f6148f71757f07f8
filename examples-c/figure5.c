/*
 * figure5 -- the paper's Figure 5, against librump: configure an interface address with
 * rump_sys_ioctl(SIOCAIFADDR) and a default route through a routing socket, then read
 * everything back through the same interfaces a NetBSD program would use.
 *
 *   figure5 [IFNAME ADDR BCAST MASK GW]
 *
 * Defaults: mem0 10.0.2.15 10.0.2.255 255.255.255.0 10.0.2.2.  IFNAME is created with
 * rump_pub_netconfig_ifcreate(); names memN are interfaces on the process's in-memory
 * link.  Steps, each printed:
 *   1. SIOCAIFADDR on a PF_INET configuration socket (Figure 5 itself);
 *   2. "route add default GW" as NetBSD's route(8) writes it to a PF_ROUTE socket, and
 *      the kernel's reply read back;
 *   3. SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFFLAGS (must be UP|RUNNING)
 *      and the SIOCGIFCONF list;
 *   4. RTM_GET of a remote address (198.51.100.1), which must answer with GW;
 *   5. __sysctl of net.inet.ip.forwarding: read, set to 1, read.
 *
 * Exit status: 0 when everything read back is what was configured; 1 otherwise, with
 * "CALL: ENAME (num)" on stderr for a failed call, e.g. "SIOCAIFADDR: ENXIO (6)".
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

#define REMOTE "198.51.100.1"	/* an address only the default route reaches */

/* route(8)'s sockaddr rounding: sockaddrs in routing messages take multiples of 8. */
#define RT_ROUNDUP(a) \
	((a) > 0 ? (1 + (((a) - 1) | (sizeof(uint64_t) - 1))) : sizeof(uint64_t))

union sockunion {
	struct rump_sockaddr sa;
	struct rump_sockaddr_in sin;
};

/* A routing message as route(8) builds it: the header and room for the sockaddrs. */
struct rtmsg {
	struct rump_rt_msghdr m_rtm;
	char m_space[512];
};

static const char *ifname = "mem0";
static const char *myaddr = "10.0.2.15";
static const char *mybcast = "10.0.2.255";
static const char *mymask = "255.255.255.0";
static const char *gwaddr = "10.0.2.2";

static void die(const char *call)
{
	int e = errno;

	fprintf(stderr, "%s: %s (%d)\n", call, rumperr_name(e), e);
	exit(1);
}

static void dierv(const char *call, int e)
{
	errno = e;
	die(call);
}

static void failx(const char *what)
{
	fprintf(stderr, "figure5: %s\n", what);
	exit(1);
}

static const char *ntoa(const struct rump_in_addr *a, char *buf)
{
	return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

/* Step 1: Figure 5 of the paper, with NetBSD's error reporting. */
static void figure5(void)
{
	struct rump_sockaddr_in *sin;
	int s, rv;
	/*
	 * struct ifaliasreq holds its sockaddrs as bytes (alignment 1); the union gives it
	 * the alignment the sockaddr_in casts below need.
	 */
	union {
		struct rump_ifaliasreq ia;
		struct rump_sockaddr_in align;
	} u;

	/* get a socket for configuring the interface */
	s = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	if (s == -1)
		die("configuration socket");

	/* fill out struct ifaliasreq */
	memset(&u.ia, 0, sizeof(u.ia));
	strcpy(u.ia.ifra_name, ifname);
	sin = (struct rump_sockaddr_in *)&u.ia.ifra_addr;
	sin->sin_family = RUMP_AF_INET;
	sin->sin_len = sizeof(struct rump_sockaddr_in);
	sin->sin_addr.s_addr = inet_addr(myaddr);

	sin = (struct rump_sockaddr_in *)&u.ia.ifra_broadaddr;
	sin->sin_family = RUMP_AF_INET;
	sin->sin_len = sizeof(struct rump_sockaddr_in);
	sin->sin_addr.s_addr = inet_addr(mybcast);

	sin = (struct rump_sockaddr_in *)&u.ia.ifra_mask;
	sin->sin_family = RUMP_AF_INET;
	sin->sin_len = sizeof(struct rump_sockaddr_in);
	sin->sin_addr.s_addr = inet_addr(mymask);

	/* toss to the configuration socket and see what it thinks */
	rv = rump_sys_ioctl(s, RUMP_SIOCAIFADDR, &u.ia);
	if (rv)
		die("SIOCAIFADDR");
	rump_sys_close(s);
	printf("SIOCAIFADDR %s: %s broadcast %s netmask %s\n", ifname, myaddr, mybcast, mymask);
}

/* Write a routing message and read the kernel's answer to it (route(8)'s rtmsg()). */
static void rtmsg(int s, struct rtmsg *m, const char *call)
{
	static int seq;
	int want_seq = ++seq;
	ssize_t n;
	int len = m->m_rtm.rtm_msglen;

	m->m_rtm.rtm_seq = want_seq;
	if (rump_sys_write(s, m, (size_t)len) != len)
		die(call);
	do {
		n = rump_sys_read(s, m, sizeof(*m));
		if (n == -1)
			die("read from the routing socket");
	} while (m->m_rtm.rtm_seq != want_seq || m->m_rtm.rtm_pid != (int)getpid());
	if (m->m_rtm.rtm_errno != 0)
		dierv(call, m->m_rtm.rtm_errno);
	if ((m->m_rtm.rtm_flags & RUMP_RTF_DONE) == 0)
		failx("routing reply without RTF_DONE");
}

/* Step 2: "route add default GW", byte for byte what NetBSD's route(8) sends. */
static void route_add_default(int s)
{
	struct rtmsg m;
	union sockunion so_dst, so_gate, so_mask;
	int rtm_addrs = RUMP_RTA_DST | RUMP_RTA_GATEWAY | RUMP_RTA_NETMASK;
	char *cp = m.m_space;
	size_t l;

#define NEXTADDR(w, u) \
	if (rtm_addrs & (w)) { \
		l = RT_ROUNDUP(u.sa.sa_len); \
		memmove(cp, &(u), l); \
		cp += l; \
	}

	memset(&so_dst, 0, sizeof(so_dst));
	so_dst.sin.sin_len = sizeof(struct rump_sockaddr_in);
	so_dst.sin.sin_family = RUMP_AF_INET;
	so_gate = so_dst;
	so_gate.sin.sin_addr.s_addr = inet_addr(gwaddr);
	/* "default": a netmask of length 0 (mask_addr() trims the zero bytes). */
	so_mask = so_dst;
	so_mask.sa.sa_len = 0;

	memset(&m, 0, sizeof(m));
	m.m_rtm.rtm_type = RUMP_RTM_ADD;
	m.m_rtm.rtm_flags = RUMP_RTF_UP | RUMP_RTF_GATEWAY | RUMP_RTF_STATIC;
	m.m_rtm.rtm_version = RUMP_RTM_VERSION;
	m.m_rtm.rtm_addrs = rtm_addrs;
	NEXTADDR(RUMP_RTA_DST, so_dst);
	NEXTADDR(RUMP_RTA_GATEWAY, so_gate);
	NEXTADDR(RUMP_RTA_NETMASK, so_mask);
	m.m_rtm.rtm_msglen = (uint16_t)(cp - (char *)&m);
#undef NEXTADDR

	rtmsg(s, &m, "RTM_ADD");
	printf("RTM_ADD default %s: done, reply of %u bytes\n", gwaddr, m.m_rtm.rtm_msglen);
}

static void getifreq(int s, unsigned long cmd, const char *call, struct rump_ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	strncpy(ifr->ifr_name, ifname, sizeof(ifr->ifr_name) - 1);
	if (rump_sys_ioctl(s, cmd, ifr) == -1)
		die(call);
}

/* Step 3: the interface as configured. */
static void show_interface(int s)
{
	struct rump_ifreq ifr;
	struct rump_ifconf ifc;
	struct rump_ifreq *req;
	struct rump_sockaddr_in *sin;
	char buf[INET_ADDRSTRLEN];
	int i, n, flags;

	getifreq(s, RUMP_SIOCGIFADDR, "SIOCGIFADDR", &ifr);
	sin = (struct rump_sockaddr_in *)&ifr.ifr_addr;
	printf("SIOCGIFADDR %s: %s\n", ifname, ntoa(&sin->sin_addr, buf));
	if (sin->sin_addr.s_addr != inet_addr(myaddr))
		failx("SIOCGIFADDR: not the address configured");

	getifreq(s, RUMP_SIOCGIFBRDADDR, "SIOCGIFBRDADDR", &ifr);
	sin = (struct rump_sockaddr_in *)&ifr.ifr_broadaddr;
	printf("SIOCGIFBRDADDR %s: %s\n", ifname, ntoa(&sin->sin_addr, buf));
	if (sin->sin_addr.s_addr != inet_addr(mybcast))
		failx("SIOCGIFBRDADDR: not the broadcast address configured");

	getifreq(s, RUMP_SIOCGIFNETMASK, "SIOCGIFNETMASK", &ifr);
	sin = (struct rump_sockaddr_in *)&ifr.ifr_addr;
	printf("SIOCGIFNETMASK %s: %s\n", ifname, ntoa(&sin->sin_addr, buf));
	if (sin->sin_addr.s_addr != inet_addr(mymask))
		failx("SIOCGIFNETMASK: not the netmask configured");

	getifreq(s, RUMP_SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr);
	flags = (unsigned short)ifr.ifr_flags;
	printf("SIOCGIFFLAGS %s: %#x%s%s\n", ifname, (unsigned)flags,
	    flags & RUMP_IFF_UP ? " UP" : "", flags & RUMP_IFF_RUNNING ? " RUNNING" : "");
	if ((flags & (RUMP_IFF_UP | RUMP_IFF_RUNNING)) != (RUMP_IFF_UP | RUMP_IFF_RUNNING))
		failx("SIOCGIFFLAGS: interface not UP and RUNNING");

	/* SIOCGIFCONF: first the length needed, then the list. */
	memset(&ifc, 0, sizeof(ifc));
	ifc.ifc_buf = NULL;
	if (rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc) == -1)
		die("SIOCGIFCONF");
	req = malloc((size_t)ifc.ifc_len);
	if (req == NULL)
		failx("out of memory");
	ifc.ifc_req = req;
	if (rump_sys_ioctl(s, RUMP_SIOCGIFCONF, &ifc) == -1)
		die("SIOCGIFCONF");
	n = ifc.ifc_len / (int)sizeof(struct rump_ifreq);
	printf("SIOCGIFCONF: %d entries\n", n);
	for (i = 0; i < n; i++) {
		sin = (struct rump_sockaddr_in *)&req[i].ifr_addr;
		printf("  %s %s\n", req[i].ifr_name,
		    sin->sin_family == RUMP_AF_INET ? ntoa(&sin->sin_addr, buf) : "-");
	}
	free(req);
}

/* Step 4: "route get REMOTE", with an empty RTA_IFP so the reply names the interface. */
static void route_get(int s)
{
	struct rtmsg m;
	union sockunion so_dst;
	char *cp = m.m_space, *end;
	char gw[INET_ADDRSTRLEN + 16] = "?", ifp[RUMP_IFNAMSIZ] = "?";
	int i;

	memset(&so_dst, 0, sizeof(so_dst));
	so_dst.sin.sin_len = sizeof(struct rump_sockaddr_in);
	so_dst.sin.sin_family = RUMP_AF_INET;
	so_dst.sin.sin_addr.s_addr = inet_addr(REMOTE);

	memset(&m, 0, sizeof(m));
	m.m_rtm.rtm_type = RUMP_RTM_GET;
	m.m_rtm.rtm_version = RUMP_RTM_VERSION;
	m.m_rtm.rtm_addrs = RUMP_RTA_DST | RUMP_RTA_IFP;
	memcpy(cp, &so_dst, sizeof(so_dst));
	cp += RT_ROUNDUP(sizeof(so_dst));
	/* An empty sockaddr_dl: length 20, AF_LINK, the rest 0. */
	cp[0] = 20;
	cp[1] = RUMP_AF_LINK;
	cp += RT_ROUNDUP(20);
	m.m_rtm.rtm_msglen = (uint16_t)(cp - (char *)&m);

	rtmsg(s, &m, "RTM_GET");
	/* Walk the sockaddrs of the reply, in RTAX order. */
	cp = m.m_space;
	end = (char *)&m + m.m_rtm.rtm_msglen;
	for (i = 0; i < RUMP_RTAX_MAX && cp < end; i++) {
		unsigned char len = (unsigned char)cp[0], family = (unsigned char)cp[1];

		if ((m.m_rtm.rtm_addrs & (1 << i)) == 0)
			continue;
		if (i == RUMP_RTAX_GATEWAY && family == RUMP_AF_INET) {
			struct rump_in_addr a;

			memcpy(&a, cp + 4, sizeof(a));
			ntoa(&a, gw);
		} else if (i == RUMP_RTAX_GATEWAY && family == RUMP_AF_LINK) {
			snprintf(gw, sizeof(gw), "link#%u", (unsigned)(unsigned char)cp[2]);
		} else if (i == RUMP_RTAX_IFP && family == RUMP_AF_LINK) {
			/* sockaddr_dl: the name (sdl_nlen bytes at 5) starts at sdl_data, 8. */
			size_t nlen = (unsigned char)cp[5];

			if (nlen >= sizeof(ifp))
				nlen = sizeof(ifp) - 1;
			memcpy(ifp, cp + 8, nlen);
			ifp[nlen] = '\0';
		}
		cp += RT_ROUNDUP(len);
	}
	printf("RTM_GET %s: gateway %s interface %s flags %#x\n", REMOTE, gw, ifp,
	    (unsigned)m.m_rtm.rtm_flags);
	if (strcmp(gw, gwaddr) != 0)
		failx("RTM_GET: not the gateway configured");
	if (strcmp(ifp, ifname) != 0)
		failx("RTM_GET: not the interface configured");
}

/* Step 5: net.inet.ip.forwarding, read, set to 1, read. */
static int get_forwarding(void)
{
	const int mib[4] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_IP, RUMP_IPCTL_FORWARDING };
	int v = -1;
	size_t len = sizeof(v);

	if (rump_sys___sysctl(mib, 4, &v, &len, NULL, 0) == -1)
		die("__sysctl net.inet.ip.forwarding");
	if (len != sizeof(v))
		failx("__sysctl: net.inet.ip.forwarding is not an int");
	return v;
}

static void forwarding(void)
{
	const int mib[4] = { RUMP_CTL_NET, RUMP_PF_INET, RUMP_IPPROTO_IP, RUMP_IPCTL_FORWARDING };
	int before, old = -1, one = 1, after;
	size_t len = sizeof(old);

	before = get_forwarding();
	printf("net.inet.ip.forwarding: %d\n", before);
	if (rump_sys___sysctl(mib, 4, &old, &len, &one, sizeof(one)) == -1)
		die("__sysctl net.inet.ip.forwarding=1");
	after = get_forwarding();
	printf("net.inet.ip.forwarding: %d -> %d\n", old, after);
	if (old != before || after != 1)
		failx("__sysctl: net.inet.ip.forwarding did not become 1");
}

int main(int argc, char **argv)
{
	struct rump_in_addr check;
	int rv, s;

	if (argc == 6) {
		ifname = argv[1];
		myaddr = argv[2];
		mybcast = argv[3];
		mymask = argv[4];
		gwaddr = argv[5];
	} else if (argc != 1) {
		fprintf(stderr, "usage: figure5 [IFNAME ADDR BCAST MASK GW]\n");
		return 1;
	}
	if (strlen(ifname) >= RUMP_IFNAMSIZ || inet_pton(AF_INET, myaddr, &check) != 1 ||
	    inet_pton(AF_INET, mybcast, &check) != 1 || inet_pton(AF_INET, mymask, &check) != 1 ||
	    inet_pton(AF_INET, gwaddr, &check) != 1) {
		fprintf(stderr, "figure5: bad interface name or address\n");
		return 1;
	}

	rv = rump_init();
	if (rv != 0)
		dierv("rump_init", rv);
	rv = rump_pub_netconfig_ifcreate(ifname);
	if (rv != 0)
		dierv("rump_pub_netconfig_ifcreate", rv);
	printf("created %s\n", ifname);

	figure5();

	s = rump_sys_socket(RUMP_PF_ROUTE, RUMP_SOCK_RAW, 0);
	if (s == -1)
		die("routing socket");
	route_add_default(s);

	{
		int c = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);

		if (c == -1)
			die("socket");
		show_interface(c);
		rump_sys_close(c);
	}
	route_get(s);
	rump_sys_close(s);
	forwarding();
	printf("figure5: ok\n");
	return 0;
}
