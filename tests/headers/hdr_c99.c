/*
 * Include-only test of the generated headers as C99, next to the host's
 * socket headers: with RUMP_FIRST defined the rump headers come first,
 * otherwise the host's do.  Either order must compile warning-free, with and
 * without _DEFAULT_SOURCE (which makes glibc define struct ifreq and the
 * ifr_* macros; the ones rumpdefs.h shares with glibc expand identically).
 */
#ifdef RUMP_FIRST
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#endif

#include <sys/socket.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>

#ifndef RUMP_FIRST
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#endif

/* Negative-array-size checks: C99 has no _Static_assert. */
typedef char rump_hdr_c99_ifreq[sizeof(struct rump_ifreq) == 144 ? 1 : -1];
typedef char rump_hdr_c99_af[RUMP_AF_INET6 == 24 ? 1 : -1];

int rump_hdr_c99_uses(struct rump_ifreq *ifr);

int rump_hdr_c99_uses(struct rump_ifreq *ifr)
{
  return ifr->ifr_flags + ifr->ifr_addr.sa_len + ifr->ifr_name[0];
}

#ifdef _DEFAULT_SOURCE
int rump_hdr_c99_host_uses(struct ifreq *host);

int rump_hdr_c99_host_uses(struct ifreq *host)
{
  return host->ifr_flags + host->ifr_addr.sa_family + host->ifr_name[0];
}
#endif
