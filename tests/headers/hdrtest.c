/*
 * Layout and macro test of the generated headers, built as C11 and as C++11
 * by check.sh: every rump_ struct has NetBSD's amd64 size, alignment and
 * field offsets (the same numbers librump/src/abi/netbsd.rs asserts), a few
 * constants have NetBSD's values, the field macros NetBSD defines over unions
 * (ifr_addr, ifc_buf, ifra_broadaddr, s6_addr, ...) work next to the host's
 * <net/if.h> and <netinet/in.h>, and at run time the RUMP_FD_* and
 * RUMP_CMSG_* macros do what NetBSD's do.  Nothing is linked from librump.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* glibc's struct ifreq and ifr_* macros, as programs use them */
#endif
#include <sys/socket.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

#ifdef __cplusplus
#define STATIC_ASSERT(c, m) static_assert(c, m)
#define ALIGNOF(t) alignof(t)
#else
#define STATIC_ASSERT(c, m) _Static_assert(c, m)
#define ALIGNOF(t) _Alignof(t)
#endif

#define LAYOUT(t, size, align)                                    \
  STATIC_ASSERT(sizeof(struct t) == (size), "sizeof " #t);        \
  STATIC_ASSERT(ALIGNOF(struct t) == (align), "alignof " #t)
#define AT(t, f, off) STATIC_ASSERT(offsetof(struct t, f) == (off), #t "." #f)

LAYOUT(rump_sockaddr, 16, 1);
AT(rump_sockaddr, sa_len, 0);
AT(rump_sockaddr, sa_family, 1);
AT(rump_sockaddr, sa_data, 2);

LAYOUT(rump_in_addr, 4, 4);
AT(rump_in_addr, s_addr, 0);

LAYOUT(rump_sockaddr_in, 16, 4);
AT(rump_sockaddr_in, sin_len, 0);
AT(rump_sockaddr_in, sin_family, 1);
AT(rump_sockaddr_in, sin_port, 2);
AT(rump_sockaddr_in, sin_addr, 4);
AT(rump_sockaddr_in, sin_zero, 8);

STATIC_ASSERT(sizeof(union rump_in6_addr_u) == 16, "sizeof rump_in6_addr_u");
LAYOUT(rump_in6_addr, 16, 4);
AT(rump_in6_addr, s6_addr, 0);

LAYOUT(rump_sockaddr_in6, 28, 4);
AT(rump_sockaddr_in6, sin6_len, 0);
AT(rump_sockaddr_in6, sin6_family, 1);
AT(rump_sockaddr_in6, sin6_port, 2);
AT(rump_sockaddr_in6, sin6_flowinfo, 4);
AT(rump_sockaddr_in6, sin6_addr, 8);
AT(rump_sockaddr_in6, sin6_scope_id, 24);

LAYOUT(rump_sockaddr_un, 106, 1);
AT(rump_sockaddr_un, sun_len, 0);
AT(rump_sockaddr_un, sun_family, 1);
AT(rump_sockaddr_un, sun_path, 2);

LAYOUT(rump_sockaddr_storage, 128, 8);
AT(rump_sockaddr_storage, ss_len, 0);
AT(rump_sockaddr_storage, ss_family, 1);
AT(rump_sockaddr_storage, __ss_pad1, 2);
AT(rump_sockaddr_storage, __ss_align, 8);
AT(rump_sockaddr_storage, __ss_pad2, 16);

LAYOUT(rump_iovec, 16, 8);
AT(rump_iovec, iov_base, 0);
AT(rump_iovec, iov_len, 8);

LAYOUT(rump_msghdr, 48, 8);
AT(rump_msghdr, msg_name, 0);
AT(rump_msghdr, msg_namelen, 8);
AT(rump_msghdr, msg_iov, 16);
AT(rump_msghdr, msg_iovlen, 24);
AT(rump_msghdr, msg_control, 32);
AT(rump_msghdr, msg_controllen, 40);
AT(rump_msghdr, msg_flags, 44);

LAYOUT(rump_cmsghdr, 12, 4);
AT(rump_cmsghdr, cmsg_len, 0);
AT(rump_cmsghdr, cmsg_level, 4);
AT(rump_cmsghdr, cmsg_type, 8);

LAYOUT(rump_pollfd, 8, 4);
AT(rump_pollfd, fd, 0);
AT(rump_pollfd, events, 4);
AT(rump_pollfd, revents, 6);

LAYOUT(rump_timeval, 16, 8);
AT(rump_timeval, tv_sec, 0);
AT(rump_timeval, tv_usec, 8);

LAYOUT(rump_timespec, 16, 8);
AT(rump_timespec, tv_sec, 0);
AT(rump_timespec, tv_nsec, 8);

LAYOUT(rump_linger, 8, 4);
AT(rump_linger, l_onoff, 0);
AT(rump_linger, l_linger, 4);

LAYOUT(rump_fd_set, 32, 4);
AT(rump_fd_set, fds_bits, 0);

LAYOUT(rump_sigset_t, 16, 4);
AT(rump_sigset_t, __bits, 0);

LAYOUT(rump_ip_mreq, 8, 4);
AT(rump_ip_mreq, imr_multiaddr, 0);
AT(rump_ip_mreq, imr_interface, 4);

LAYOUT(rump_in_pktinfo, 8, 4);
AT(rump_in_pktinfo, ipi_addr, 0);
AT(rump_in_pktinfo, ipi_ifindex, 4);

LAYOUT(rump_ipv6_mreq, 20, 4);
AT(rump_ipv6_mreq, ipv6mr_multiaddr, 0);
AT(rump_ipv6_mreq, ipv6mr_interface, 16);

LAYOUT(rump_in6_pktinfo, 20, 4);
AT(rump_in6_pktinfo, ipi6_addr, 0);
AT(rump_in6_pktinfo, ipi6_ifindex, 16);

LAYOUT(rump_ifreq_ifrn, 16, 1);
LAYOUT(rump_ifreq_buf, 16, 8);
AT(rump_ifreq_buf, b_buflen, 0);
AT(rump_ifreq_buf, b_buf, 8);
STATIC_ASSERT(sizeof(union rump_ifreq_ifru) == 128, "sizeof rump_ifreq_ifru");
LAYOUT(rump_ifreq, 144, 8);
AT(rump_ifreq, ifr_name, 0);
AT(rump_ifreq, ifr_ifru, 16);
AT(rump_ifreq, ifr_addr, 16);
AT(rump_ifreq, ifr_dstaddr, 16);
AT(rump_ifreq, ifr_broadaddr, 16);
AT(rump_ifreq, ifr_space, 16);
AT(rump_ifreq, ifr_flags, 16);
AT(rump_ifreq, ifr_addrflags, 16);
AT(rump_ifreq, ifr_metric, 16);
AT(rump_ifreq, ifr_mtu, 16);
AT(rump_ifreq, ifr_dlt, 16);
AT(rump_ifreq, ifr_value, 16);
AT(rump_ifreq, ifr_media, 16);
AT(rump_ifreq, ifr_data, 16);
AT(rump_ifreq, ifr_buflen, 16);
AT(rump_ifreq, ifr_buf, 24);
AT(rump_ifreq, ifr_index, 16);
AT(rump_ifreq, ifr_ifindex, 16);

STATIC_ASSERT(sizeof(union rump_ifconf_ifcu) == 8, "sizeof rump_ifconf_ifcu");
LAYOUT(rump_ifconf, 16, 8);
AT(rump_ifconf, ifc_len, 0);
AT(rump_ifconf, ifc_ifcu, 8);
AT(rump_ifconf, ifc_buf, 8);
AT(rump_ifconf, ifc_req, 8);

LAYOUT(rump_ifaliasreq, 64, 1);
AT(rump_ifaliasreq, ifra_name, 0);
AT(rump_ifaliasreq, ifra_addr, 16);
AT(rump_ifaliasreq, ifra_dstaddr, 32);
AT(rump_ifaliasreq, ifra_broadaddr, 32);

/* net/route.h: routing socket messages */
LAYOUT(rump_rt_metrics, 80, 8);
AT(rump_rt_metrics, rmx_locks, 0);
AT(rump_rt_metrics, rmx_mtu, 8);
AT(rump_rt_metrics, rmx_expire, 64);
AT(rump_rt_metrics, rmx_pksent, 72);
LAYOUT(rump_rt_msghdr, 120, 8);
AT(rump_rt_msghdr, rtm_msglen, 0);
AT(rump_rt_msghdr, rtm_version, 2);
AT(rump_rt_msghdr, rtm_type, 3);
AT(rump_rt_msghdr, rtm_index, 4);
AT(rump_rt_msghdr, rtm_flags, 8);
AT(rump_rt_msghdr, rtm_addrs, 12);
AT(rump_rt_msghdr, rtm_pid, 16);
AT(rump_rt_msghdr, rtm_seq, 20);
AT(rump_rt_msghdr, rtm_errno, 24);
AT(rump_rt_msghdr, rtm_use, 28);
AT(rump_rt_msghdr, rtm_inits, 32);
AT(rump_rt_msghdr, rtm_rmx, 40);
AT(rump_ifaliasreq, ifra_mask, 48);

LAYOUT(rump_in_aliasreq, 64, 4);
AT(rump_in_aliasreq, ifra_name, 0);
AT(rump_in_aliasreq, ifra_addr, 16);
AT(rump_in_aliasreq, ifra_dstaddr, 32);
AT(rump_in_aliasreq, ifra_broadaddr, 32);
AT(rump_in_aliasreq, ifra_mask, 48);

LAYOUT(rump_if_clonereq, 16, 8);
AT(rump_if_clonereq, ifcr_total, 0);
AT(rump_if_clonereq, ifcr_count, 4);
AT(rump_if_clonereq, ifcr_buffer, 8);

/* Typedef names work as well as tags. */
STATIC_ASSERT(sizeof(rump_sockaddr_in) == sizeof(struct rump_sockaddr_in), "typedef");
STATIC_ASSERT(sizeof(rump_socklen_t) == 4, "socklen_t");
STATIC_ASSERT(sizeof(rump_sa_family_t) == 1, "sa_family_t");
STATIC_ASSERT(sizeof(rump_ssize_t) == 8, "ssize_t");
STATIC_ASSERT(sizeof(rump_time_t) == 8, "time_t");

/* NetBSD's values, not the host's. */
STATIC_ASSERT(RUMP_AF_INET == 2, "AF_INET");
STATIC_ASSERT(RUMP_AF_INET6 == 24, "AF_INET6");
STATIC_ASSERT(RUMP_PF_INET6 == RUMP_AF_INET6, "PF_INET6");
STATIC_ASSERT(RUMP_SOL_SOCKET == 0xffff, "SOL_SOCKET");
STATIC_ASSERT(RUMP_SO_REUSEADDR == 4, "SO_REUSEADDR");
STATIC_ASSERT(RUMP_SO_RCVTIMEO == 0x100c, "SO_RCVTIMEO");
STATIC_ASSERT(RUMP_ECONNREFUSED == 61, "ECONNREFUSED");
STATIC_ASSERT(RUMP_EAGAIN == 35 && RUMP_EWOULDBLOCK == RUMP_EAGAIN, "EAGAIN");
STATIC_ASSERT(RUMP_ENOTRECOVERABLE == 98, "ENOTRECOVERABLE");
STATIC_ASSERT(RUMP_O_NONBLOCK == 4, "O_NONBLOCK");
STATIC_ASSERT(RUMP_IPV6_V6ONLY == 27, "IPV6_V6ONLY");
STATIC_ASSERT(RUMP_IP_ADD_MEMBERSHIP == 12, "IP_ADD_MEMBERSHIP");
STATIC_ASSERT(RUMP_FIONBIO == 0x8004667eUL, "FIONBIO");
STATIC_ASSERT(RUMP_SIOCAIFADDR == 0x8040691aUL, "SIOCAIFADDR");
STATIC_ASSERT(RUMP_SIOCGIFFLAGS == 0xc0906911UL, "SIOCGIFFLAGS");
STATIC_ASSERT(RUMP_SIOCGIFCONF == 0xc0106926UL, "SIOCGIFCONF");
STATIC_ASSERT(RUMP_IFNAMSIZ == 16, "IFNAMSIZ");
STATIC_ASSERT(RUMP_FD_SETSIZE == 256, "FD_SETSIZE");
STATIC_ASSERT(RUMP_SOCK_FLAGS_MASK == (int)0xf0000000u, "SOCK_FLAGS_MASK");

/* The host's structs are still the host's. */
STATIC_ASSERT(sizeof(struct sockaddr_in) == 16, "host sockaddr_in");
STATIC_ASSERT(sizeof(struct ifreq) != sizeof(struct rump_ifreq), "host ifreq");

static int failures;

static void check(int ok, const char *what)
{
  if (!ok)
    failures++;
  (void)what;
}

static int test_fd_macros(void)
{
  rump_fd_set s;
  int n, set = 0;

  memset(&s, 0xff, sizeof(s));
  RUMP_FD_ZERO(&s);
  for (n = 0; n < RUMP_FD_SETSIZE; n++)
    set += RUMP_FD_ISSET(n, &s);
  check(set == 0, "FD_ZERO");
  RUMP_FD_SET(0, &s);
  RUMP_FD_SET(33, &s);
  RUMP_FD_SET(255, &s);
  check(s.fds_bits[0] == 1u && s.fds_bits[1] == 2u && s.fds_bits[7] == 0x80000000u,
        "FD_SET: 32-bit masks");
  check(RUMP_FD_ISSET(33, &s) && !RUMP_FD_ISSET(32, &s), "FD_ISSET");
  RUMP_FD_CLR(33, &s);
  check(!RUMP_FD_ISSET(33, &s) && RUMP_FD_ISSET(255, &s), "FD_CLR");
  return failures;
}

static int test_cmsg_macros(void)
{
  union {
    char buf[64];
    double align;
  } u;
  struct rump_msghdr m;
  struct rump_cmsghdr *c;

  memset(&m, 0, sizeof(m));
  m.msg_control = u.buf;
  m.msg_controllen = (rump_socklen_t)(RUMP_CMSG_SPACE(sizeof(int)) * 2);
  check(RUMP_CMSG_LEN(4) == 20 && RUMP_CMSG_SPACE(4) == 24, "CMSG_LEN/SPACE");
  c = RUMP_CMSG_FIRSTHDR(&m);
  check(c == (struct rump_cmsghdr *)(void *)u.buf, "CMSG_FIRSTHDR");
  c->cmsg_len = (rump_socklen_t)RUMP_CMSG_LEN(sizeof(int));
  c->cmsg_level = RUMP_SOL_SOCKET;
  c->cmsg_type = RUMP_SCM_RIGHTS;
  check(RUMP_CMSG_DATA(c) == (unsigned char *)u.buf + 16, "CMSG_DATA");
  c = RUMP_CMSG_NXTHDR(&m, c);
  check(c == (struct rump_cmsghdr *)(void *)(u.buf + 24), "CMSG_NXTHDR");
  c->cmsg_len = (rump_socklen_t)RUMP_CMSG_LEN(sizeof(int));
  check(RUMP_CMSG_NXTHDR(&m, c) == 0, "CMSG_NXTHDR at the end");
  m.msg_controllen = 4;
  check(RUMP_CMSG_FIRSTHDR(&m) == 0, "CMSG_FIRSTHDR short");
  return failures;
}

static int test_field_macros(void)
{
  struct rump_ifreq ifr;
  struct rump_ifconf ifc;
  struct rump_ifaliasreq ifra;
  struct rump_sockaddr_in6 sin6;
  struct ifreq host_ifr; /* the host's macros still work on the host's struct */
  struct in6_addr host_a6;

  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "shmif0");
  ifr.ifr_addr.sa_family = RUMP_AF_INET;
  check(ifr.ifr_ifru.ifru_addr.sa_family == RUMP_AF_INET, "ifr_addr");
  ifr.ifr_flags = RUMP_IFF_UP;
  check(ifr.ifr_ifru.ifru_flags == RUMP_IFF_UP, "ifr_flags");
  ifr.ifr_mtu = 1500;
  check(ifr.ifr_metric == 1500 && ifr.ifr_ifru.ifru_metric == 1500, "ifr_metric");
  check(strcmp(ifr.ifr_ifrn.ifrn_name, "shmif0") == 0, "ifr_name");

  ifc.ifc_len = (int)sizeof(ifr);
  ifc.ifc_req = &ifr;
  check(ifc.ifc_buf == (void *)&ifr, "ifc_buf");

  memset(&ifra, 0, sizeof(ifra));
  ifra.ifra_broadaddr.sa_len = 16;
  check(ifra.ifra_dstaddr.sa_len == 16, "ifra_broadaddr");

  memset(&sin6, 0, sizeof(sin6));
  sin6.sin6_addr.s6_addr[15] = 1;
  check(sin6.sin6_addr.__in6_u.__u6_addr8[15] == 1, "s6_addr");

  memset(&host_ifr, 0, sizeof(host_ifr));
  strcpy(host_ifr.ifr_name, "lo");
  host_ifr.ifr_flags = IFF_UP;
  memset(&host_a6, 0, sizeof(host_a6));
  host_a6.s6_addr[0] = 0xfe;
  check(host_ifr.ifr_flags == IFF_UP && host_a6.s6_addr[0] == 0xfe, "host structs");
  return failures;
}

int main(void)
{
  test_fd_macros();
  test_cmsg_macros();
  test_field_macros();
  return failures != 0;
}
