//! The NetBSD ABI: constants and `#[repr(C)]` structs exactly as NetBSD's headers lay them
//! out on LP64 amd64, each named `RUMP_` + its NetBSD name (constants) or `rump_` + its
//! NetBSD name (structs), so that cbindgen turns this file into `include/rump/rumpdefs.h`
//! and C programs never clash with the host's `<sys/socket.h>`.
//!
//! Values come from NetBSD's sys/sys/socket.h, sys/sys/errno.h, sys/netinet/in.h,
//! sys/netinet6/in6.h, sys/netinet/in_var.h, sys/netinet/tcp.h, sys/sys/fcntl.h,
//! sys/sys/poll.h, sys/sys/fd_set.h, sys/sys/filio.h, sys/sys/sockio.h, sys/sys/ioccom.h,
//! sys/sys/sysctl.h, sys/netinet/udp_var.h, sys/net/if.h and sys/net/route.h.
//!
//! Rules of this file, which rumpgen relies on:
//! - every constant is a literal (or the name of another constant), so cbindgen can emit it;
//! - ioctl numbers are the literal values of NetBSD's `_IOW`/`_IOWR` for amd64; the tests
//!   recompute each from the struct size;
//! - every struct has compile-time size, alignment and offset asserts with NetBSD's amd64
//!   numbers, and tests/headers/hdrtest.c checks the same numbers on the C side;
//! - a field NetBSD reaches through a macro over a union (`ifr_addr`, `ifc_buf`,
//!   `ifra_broadaddr`, `s6_addr`) is a macro in rumpdefs.h too
//!   (tools/rumpgen/src/rumpdefs_macros.h).
//!
//! Two layouts follow glibc's spelling instead of NetBSD's, because glibc defines
//! `s6_addr` and `ifr_name` as macros and a C program includes both headers: the union in
//! [`rump_in6_addr`] is called `__in6_u`, and [`rump_ifreq`] keeps its name in a
//! one-member struct `ifr_ifrn`. The bytes are NetBSD's; only the C spelling of the path
//! differs, and the field macros make `a.s6_addr` and `r.ifr_name` work either way.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_long, c_short, c_uint, c_void};

use crate::kern::errno::Errno;

// ---- sys/sys/socket.h, sys/sys/types.h: types ----
pub type rump_socklen_t = c_uint;
pub type rump_sa_family_t = u8;
pub type rump_in_port_t = u16;
pub type rump_in_addr_t = u32;
pub type rump_ssize_t = isize;
pub type rump_nfds_t = c_uint;
pub type rump_time_t = i64;
pub type rump_suseconds_t = c_int;
pub type rump_fd_mask = u32;

// ---- address families (sys/sys/socket.h) ----
pub const RUMP_AF_UNSPEC: c_int = 0;
pub const RUMP_AF_LOCAL: c_int = 1;
pub const RUMP_AF_UNIX: c_int = RUMP_AF_LOCAL;
pub const RUMP_AF_INET: c_int = 2;
pub const RUMP_AF_IMPLINK: c_int = 3;
pub const RUMP_AF_APPLETALK: c_int = 16;
pub const RUMP_AF_OROUTE: c_int = 17;
pub const RUMP_AF_LINK: c_int = 18;
pub const RUMP_AF_IPX: c_int = 23;
pub const RUMP_AF_INET6: c_int = 24;
pub const RUMP_AF_ARP: c_int = 28;
pub const RUMP_AF_BLUETOOTH: c_int = 31;
pub const RUMP_AF_IEEE80211: c_int = 32;
pub const RUMP_AF_MPLS: c_int = 33;
pub const RUMP_AF_ROUTE: c_int = 34;
pub const RUMP_AF_CAN: c_int = 35;
pub const RUMP_AF_ETHER: c_int = 36;
pub const RUMP_AF_MAX: c_int = 37;
pub const RUMP_PF_UNSPEC: c_int = RUMP_AF_UNSPEC;
pub const RUMP_PF_LOCAL: c_int = RUMP_AF_LOCAL;
pub const RUMP_PF_UNIX: c_int = RUMP_AF_UNIX;
pub const RUMP_PF_INET: c_int = RUMP_AF_INET;
pub const RUMP_PF_ROUTE: c_int = RUMP_AF_ROUTE;
pub const RUMP_PF_LINK: c_int = RUMP_AF_LINK;
pub const RUMP_PF_INET6: c_int = RUMP_AF_INET6;
pub const RUMP_PF_MAX: c_int = RUMP_AF_MAX;

// ---- socket types and flags ----
pub const RUMP_SOCK_STREAM: c_int = 1;
pub const RUMP_SOCK_DGRAM: c_int = 2;
pub const RUMP_SOCK_RAW: c_int = 3;
pub const RUMP_SOCK_RDM: c_int = 4;
pub const RUMP_SOCK_SEQPACKET: c_int = 5;
pub const RUMP_SOCK_CONN_DGRAM: c_int = 6;
pub const RUMP_SOCK_DCCP: c_int = RUMP_SOCK_CONN_DGRAM;
pub const RUMP_SOCK_CLOEXEC: c_int = 0x10000000;
pub const RUMP_SOCK_NONBLOCK: c_int = 0x20000000;
pub const RUMP_SOCK_NOSIGPIPE: c_int = 0x40000000;
pub const RUMP_SOCK_FLAGS_MASK: c_int = 0xf0000000_u32 as c_int;

// ---- socket-level options ----
pub const RUMP_SOL_SOCKET: c_int = 0xffff;
pub const RUMP_SO_DEBUG: c_int = 0x0001;
pub const RUMP_SO_ACCEPTCONN: c_int = 0x0002;
pub const RUMP_SO_REUSEADDR: c_int = 0x0004;
pub const RUMP_SO_KEEPALIVE: c_int = 0x0008;
pub const RUMP_SO_DONTROUTE: c_int = 0x0010;
pub const RUMP_SO_BROADCAST: c_int = 0x0020;
pub const RUMP_SO_USELOOPBACK: c_int = 0x0040;
pub const RUMP_SO_LINGER: c_int = 0x0080;
pub const RUMP_SO_OOBINLINE: c_int = 0x0100;
pub const RUMP_SO_REUSEPORT: c_int = 0x0200;
pub const RUMP_SO_NOSIGPIPE: c_int = 0x0800;
pub const RUMP_SO_ACCEPTFILTER: c_int = 0x1000;
pub const RUMP_SO_TIMESTAMP: c_int = 0x2000;
pub const RUMP_SO_RERROR: c_int = 0x4000;
pub const RUMP_SO_SNDBUF: c_int = 0x1001;
pub const RUMP_SO_RCVBUF: c_int = 0x1002;
pub const RUMP_SO_SNDLOWAT: c_int = 0x1003;
pub const RUMP_SO_RCVLOWAT: c_int = 0x1004;
pub const RUMP_SO_ERROR: c_int = 0x1007;
pub const RUMP_SO_TYPE: c_int = 0x1008;
pub const RUMP_SO_OVERFLOWED: c_int = 0x1009;
pub const RUMP_SO_NOHEADER: c_int = 0x100a;
pub const RUMP_SO_SNDTIMEO: c_int = 0x100b;
pub const RUMP_SO_RCVTIMEO: c_int = 0x100c;
pub const RUMP_SOMAXCONN: c_int = 128;

// ---- message flags ----
pub const RUMP_MSG_OOB: c_int = 0x0001;
pub const RUMP_MSG_PEEK: c_int = 0x0002;
pub const RUMP_MSG_DONTROUTE: c_int = 0x0004;
pub const RUMP_MSG_EOR: c_int = 0x0008;
pub const RUMP_MSG_TRUNC: c_int = 0x0010;
pub const RUMP_MSG_CTRUNC: c_int = 0x0020;
pub const RUMP_MSG_WAITALL: c_int = 0x0040;
pub const RUMP_MSG_DONTWAIT: c_int = 0x0080;
pub const RUMP_MSG_BCAST: c_int = 0x0100;
pub const RUMP_MSG_MCAST: c_int = 0x0200;
pub const RUMP_MSG_NOSIGNAL: c_int = 0x0400;
pub const RUMP_MSG_CMSG_CLOEXEC: c_int = 0x0800;
pub const RUMP_MSG_NBIO: c_int = 0x1000;
pub const RUMP_MSG_WAITFORONE: c_int = 0x2000;
pub const RUMP_MSG_NOTIFICATION: c_int = 0x4000;
/// The flags a program may pass; NetBSD keeps the bits above for the kernel's own use.
pub const RUMP_MSG_USERFLAGS: c_int = 0x0ffffff;

// ---- control messages ----
pub const RUMP_SCM_RIGHTS: c_int = 0x01;
pub const RUMP_SCM_TIMESTAMP: c_int = 0x08;
pub const RUMP_SCM_CREDS: c_int = 0x10;

// ---- shutdown(2) ----
pub const RUMP_SHUT_RD: c_int = 0;
pub const RUMP_SHUT_WR: c_int = 1;
pub const RUMP_SHUT_RDWR: c_int = 2;

// ---- sys/netinet/in.h: protocols ----
pub const RUMP_IPPROTO_IP: c_int = 0;
pub const RUMP_IPPROTO_HOPOPTS: c_int = 0;
pub const RUMP_IPPROTO_ICMP: c_int = 1;
pub const RUMP_IPPROTO_IGMP: c_int = 2;
pub const RUMP_IPPROTO_IPV4: c_int = 4;
pub const RUMP_IPPROTO_IPIP: c_int = 4;
pub const RUMP_IPPROTO_TCP: c_int = 6;
pub const RUMP_IPPROTO_UDP: c_int = 17;
pub const RUMP_IPPROTO_IPV6: c_int = 41;
pub const RUMP_IPPROTO_ROUTING: c_int = 43;
pub const RUMP_IPPROTO_FRAGMENT: c_int = 44;
pub const RUMP_IPPROTO_GRE: c_int = 47;
pub const RUMP_IPPROTO_ESP: c_int = 50;
pub const RUMP_IPPROTO_AH: c_int = 51;
pub const RUMP_IPPROTO_IPV6_ICMP: c_int = 58;
pub const RUMP_IPPROTO_ICMPV6: c_int = 58;
pub const RUMP_IPPROTO_NONE: c_int = 59;
pub const RUMP_IPPROTO_DSTOPTS: c_int = 60;
pub const RUMP_IPPROTO_SCTP: c_int = 132;
pub const RUMP_IPPROTO_RAW: c_int = 255;
pub const RUMP_IPPROTO_MAX: c_int = 256;

// ---- sys/netinet/in.h: ports and addresses (host byte order, as in userland) ----
pub const RUMP_IPPORT_RESERVED: c_int = 1024;
pub const RUMP_IPPORT_ANONMIN: c_int = 49152;
pub const RUMP_IPPORT_ANONMAX: c_int = 65535;
pub const RUMP_IPPORT_RESERVEDMIN: c_int = 600;
pub const RUMP_IPPORT_RESERVEDMAX: c_int = 1023;
pub const RUMP_INADDR_ANY: u32 = 0x00000000;
pub const RUMP_INADDR_LOOPBACK: u32 = 0x7f000001;
pub const RUMP_INADDR_BROADCAST: u32 = 0xffffffff;
pub const RUMP_INADDR_NONE: u32 = 0xffffffff;
pub const RUMP_INADDR_UNSPEC_GROUP: u32 = 0xe0000000;
pub const RUMP_INADDR_ALLHOSTS_GROUP: u32 = 0xe0000001;
pub const RUMP_INADDR_ALLRTRS_GROUP: u32 = 0xe0000002;
pub const RUMP_INADDR_MAX_LOCAL_GROUP: u32 = 0xe00000ff;
pub const RUMP_IN_LOOPBACKNET: c_int = 127;
pub const RUMP_INET_ADDRSTRLEN: c_int = 16;
pub const RUMP_INET6_ADDRSTRLEN: c_int = 46;

// ---- sys/netinet/in.h: IPPROTO_IP options ----
pub const RUMP_IP_OPTIONS: c_int = 1;
pub const RUMP_IP_HDRINCL: c_int = 2;
pub const RUMP_IP_TOS: c_int = 3;
pub const RUMP_IP_TTL: c_int = 4;
pub const RUMP_IP_RECVOPTS: c_int = 5;
pub const RUMP_IP_RECVRETOPTS: c_int = 6;
pub const RUMP_IP_RECVDSTADDR: c_int = 7;
pub const RUMP_IP_RETOPTS: c_int = 8;
pub const RUMP_IP_MULTICAST_IF: c_int = 9;
pub const RUMP_IP_MULTICAST_TTL: c_int = 10;
pub const RUMP_IP_MULTICAST_LOOP: c_int = 11;
pub const RUMP_IP_ADD_MEMBERSHIP: c_int = 12;
pub const RUMP_IP_DROP_MEMBERSHIP: c_int = 13;
pub const RUMP_IP_PORTALGO: c_int = 18;
pub const RUMP_IP_PORTRANGE: c_int = 19;
pub const RUMP_IP_RECVIF: c_int = 20;
pub const RUMP_IP_ERRORMTU: c_int = 21;
pub const RUMP_IP_IPSEC_POLICY: c_int = 22;
pub const RUMP_IP_RECVTTL: c_int = 23;
pub const RUMP_IP_MINTTL: c_int = 24;
pub const RUMP_IP_PKTINFO: c_int = 25;
pub const RUMP_IP_RECVPKTINFO: c_int = 26;
pub const RUMP_IP_BINDANY: c_int = 27;
pub const RUMP_IP_SENDSRCADDR: c_int = RUMP_IP_RECVDSTADDR;
pub const RUMP_IP_DEFAULT_MULTICAST_TTL: c_int = 1;
pub const RUMP_IP_DEFAULT_MULTICAST_LOOP: c_int = 1;
pub const RUMP_IP_MAX_MEMBERSHIPS: c_int = 20;
pub const RUMP_IP_PORTRANGE_DEFAULT: c_int = 0;
pub const RUMP_IP_PORTRANGE_HIGH: c_int = 1;
pub const RUMP_IP_PORTRANGE_LOW: c_int = 2;

// ---- sys/netinet6/in6.h: IPPROTO_IPV6 options ----
pub const RUMP_IPV6_UNICAST_HOPS: c_int = 4;
pub const RUMP_IPV6_MULTICAST_IF: c_int = 9;
pub const RUMP_IPV6_MULTICAST_HOPS: c_int = 10;
pub const RUMP_IPV6_MULTICAST_LOOP: c_int = 11;
pub const RUMP_IPV6_JOIN_GROUP: c_int = 12;
pub const RUMP_IPV6_LEAVE_GROUP: c_int = 13;
pub const RUMP_IPV6_PORTRANGE: c_int = 14;
pub const RUMP_ICMP6_FILTER: c_int = 18;
pub const RUMP_IPV6_CHECKSUM: c_int = 26;
pub const RUMP_IPV6_V6ONLY: c_int = 27;
pub const RUMP_IPV6_IPSEC_POLICY: c_int = 28;
pub const RUMP_IPV6_FAITH: c_int = 29;
pub const RUMP_IPV6_RTHDRDSTOPTS: c_int = 35;
pub const RUMP_IPV6_RECVPKTINFO: c_int = 36;
pub const RUMP_IPV6_RECVHOPLIMIT: c_int = 37;
pub const RUMP_IPV6_RECVRTHDR: c_int = 38;
pub const RUMP_IPV6_RECVHOPOPTS: c_int = 39;
pub const RUMP_IPV6_RECVDSTOPTS: c_int = 40;
pub const RUMP_IPV6_USE_MIN_MTU: c_int = 42;
pub const RUMP_IPV6_RECVPATHMTU: c_int = 43;
pub const RUMP_IPV6_PATHMTU: c_int = 44;
pub const RUMP_IPV6_PKTINFO: c_int = 46;
pub const RUMP_IPV6_HOPLIMIT: c_int = 47;
pub const RUMP_IPV6_NEXTHOP: c_int = 48;
pub const RUMP_IPV6_HOPOPTS: c_int = 49;
pub const RUMP_IPV6_DSTOPTS: c_int = 50;
pub const RUMP_IPV6_RTHDR: c_int = 51;
pub const RUMP_IPV6_RECVTCLASS: c_int = 57;
pub const RUMP_IPV6_TCLASS: c_int = 61;
pub const RUMP_IPV6_DONTFRAG: c_int = 62;
pub const RUMP_IPV6_DEFAULT_MULTICAST_HOPS: c_int = 1;
pub const RUMP_IPV6_DEFAULT_MULTICAST_LOOP: c_int = 1;
pub const RUMP_IPV6_PORTRANGE_DEFAULT: c_int = 0;
pub const RUMP_IPV6_PORTRANGE_HIGH: c_int = 1;
pub const RUMP_IPV6_PORTRANGE_LOW: c_int = 2;

// ---- sys/netinet/tcp.h ----
pub const RUMP_TCP_NODELAY: c_int = 0x01;
pub const RUMP_TCP_MAXSEG: c_int = 0x02;
pub const RUMP_TCP_KEEPIDLE: c_int = 0x03;
/// Reserved by NetBSD for FreeBSD compatibility (`#ifdef notyet` there).
pub const RUMP_TCP_NOPUSH: c_int = 0x04;
pub const RUMP_TCP_KEEPINTVL: c_int = 0x05;
pub const RUMP_TCP_KEEPCNT: c_int = 0x06;
pub const RUMP_TCP_KEEPINIT: c_int = 0x07;
pub const RUMP_TCP_INFO: c_int = 0x09;
pub const RUMP_TCP_MD5SIG: c_int = 0x10;
pub const RUMP_TCP_CONGCTL: c_int = 0x20;

// ---- sys/netinet/tcp_fsm.h ----
pub const RUMP_TCPS_CLOSED: c_int = 0;
pub const RUMP_TCPS_LISTEN: c_int = 1;
pub const RUMP_TCPS_SYN_SENT: c_int = 2;
pub const RUMP_TCPS_SYN_RECEIVED: c_int = 3;
pub const RUMP_TCPS_ESTABLISHED: c_int = 4;
pub const RUMP_TCPS_CLOSE_WAIT: c_int = 5;
pub const RUMP_TCPS_FIN_WAIT_1: c_int = 6;
pub const RUMP_TCPS_CLOSING: c_int = 7;
pub const RUMP_TCPS_LAST_ACK: c_int = 8;
pub const RUMP_TCPS_FIN_WAIT_2: c_int = 9;
pub const RUMP_TCPS_TIME_WAIT: c_int = 10;

// ---- sys/netinet/tcp_var.h: sysctl names under net.inet.tcp, and the statistics ----
pub const RUMP_TCPCTL_SENDSPACE: c_int = 2;
pub const RUMP_TCPCTL_RECVSPACE: c_int = 3;
/// A node: `net.inet.tcp.sack.enable` is 1 below it.
pub const RUMP_TCPCTL_SACK: c_int = 10;
pub const RUMP_TCPCTL_WSCALE: c_int = 11;
pub const RUMP_TCPCTL_TSTAMP: c_int = 12;
pub const RUMP_TCPCTL_KEEPIDLE: c_int = 17;
pub const RUMP_TCPCTL_KEEPINTVL: c_int = 18;
pub const RUMP_TCPCTL_KEEPCNT: c_int = 19;
pub const RUMP_TCPCTL_SLOWHZ: c_int = 20;
pub const RUMP_TCPCTL_STATS: c_int = 30;
/// Counters in `net.inet.tcp.stats` (uint64_t each).
pub const RUMP_TCP_NSTATS: c_int = 76;
pub const RUMP_TCP_STAT_CONNATTEMPT: c_int = 0;
pub const RUMP_TCP_STAT_ACCEPTS: c_int = 1;
pub const RUMP_TCP_STAT_CONNECTS: c_int = 2;
pub const RUMP_TCP_STAT_REXMTTIMEO: c_int = 10;
pub const RUMP_TCP_STAT_SNDTOTAL: c_int = 18;
pub const RUMP_TCP_STAT_SNDREXMITPACK: c_int = 21;
pub const RUMP_TCP_STAT_RCVTOTAL: c_int = 28;
pub const RUMP_TCP_STAT_RCVBADSUM: c_int = 31;

// ---- sys/sys/fcntl.h ----
pub const RUMP_F_DUPFD: c_int = 0;
pub const RUMP_F_GETFD: c_int = 1;
pub const RUMP_F_SETFD: c_int = 2;
pub const RUMP_F_GETFL: c_int = 3;
pub const RUMP_F_SETFL: c_int = 4;
pub const RUMP_F_GETOWN: c_int = 5;
pub const RUMP_F_SETOWN: c_int = 6;
pub const RUMP_F_GETLK: c_int = 7;
pub const RUMP_F_SETLK: c_int = 8;
pub const RUMP_F_SETLKW: c_int = 9;
pub const RUMP_F_CLOSEM: c_int = 10;
pub const RUMP_F_MAXFD: c_int = 11;
pub const RUMP_F_DUPFD_CLOEXEC: c_int = 12;
pub const RUMP_FD_CLOEXEC: c_int = 1;
pub const RUMP_O_RDONLY: c_int = 0x0000;
pub const RUMP_O_WRONLY: c_int = 0x0001;
pub const RUMP_O_RDWR: c_int = 0x0002;
pub const RUMP_O_ACCMODE: c_int = 0x0003;
pub const RUMP_O_NONBLOCK: c_int = 0x0004;
pub const RUMP_O_APPEND: c_int = 0x0008;
pub const RUMP_O_SHLOCK: c_int = 0x0010;
pub const RUMP_O_EXLOCK: c_int = 0x0020;
pub const RUMP_O_ASYNC: c_int = 0x0040;
pub const RUMP_O_SYNC: c_int = 0x0080;
pub const RUMP_O_NOFOLLOW: c_int = 0x0100;
pub const RUMP_O_CREAT: c_int = 0x0200;
pub const RUMP_O_TRUNC: c_int = 0x0400;
pub const RUMP_O_EXCL: c_int = 0x0800;
pub const RUMP_O_NOCTTY: c_int = 0x8000;
pub const RUMP_O_DSYNC: c_int = 0x10000;
pub const RUMP_O_RSYNC: c_int = 0x20000;
pub const RUMP_O_ALT_IO: c_int = 0x40000;
pub const RUMP_O_DIRECT: c_int = 0x80000;
pub const RUMP_O_DIRECTORY: c_int = 0x200000;
pub const RUMP_O_CLOEXEC: c_int = 0x400000;
pub const RUMP_O_NDELAY: c_int = RUMP_O_NONBLOCK;
pub const RUMP_O_FSYNC: c_int = RUMP_O_SYNC;

// ---- sys/sys/poll.h ----
pub const RUMP_POLLIN: c_short = 0x0001;
pub const RUMP_POLLPRI: c_short = 0x0002;
pub const RUMP_POLLOUT: c_short = 0x0004;
pub const RUMP_POLLRDNORM: c_short = 0x0040;
pub const RUMP_POLLWRNORM: c_short = RUMP_POLLOUT;
pub const RUMP_POLLRDBAND: c_short = 0x0080;
pub const RUMP_POLLWRBAND: c_short = 0x0100;
pub const RUMP_POLLERR: c_short = 0x0008;
pub const RUMP_POLLHUP: c_short = 0x0010;
pub const RUMP_POLLNVAL: c_short = 0x0020;
pub const RUMP_INFTIM: c_int = -1;

// ---- sys/sys/fd_set.h ----
pub const RUMP_FD_SETSIZE: c_int = 256;
pub const RUMP_NFDBITS: c_int = 32;

// ---- sys/sys/ioccom.h ----
pub const RUMP_IOCPARM_MASK: u64 = 0x1fff;
pub const RUMP_IOCPARM_SHIFT: c_int = 16;
pub const RUMP_IOCGROUP_SHIFT: c_int = 8;
pub const RUMP_IOC_VOID: u64 = 0x20000000;
pub const RUMP_IOC_OUT: u64 = 0x40000000;
pub const RUMP_IOC_IN: u64 = 0x80000000;
pub const RUMP_IOC_INOUT: u64 = 0xc0000000;
pub const RUMP_IOC_DIRMASK: u64 = 0xe0000000;

// ---- sys/sys/filio.h (ioctl encodings of sys/sys/ioccom.h) ----
pub const RUMP_FIOCLEX: u64 = 0x20006601;
pub const RUMP_FIONCLEX: u64 = 0x20006602;
pub const RUMP_FIONREAD: u64 = 0x4004667f;
pub const RUMP_FIONBIO: u64 = 0x8004667e;
pub const RUMP_FIOASYNC: u64 = 0x8004667d;
pub const RUMP_FIOSETOWN: u64 = 0x8004667c;
pub const RUMP_FIOGETOWN: u64 = 0x4004667b;
pub const RUMP_FIONWRITE: u64 = 0x40046679;
pub const RUMP_FIONSPACE: u64 = 0x40046678;

// ---- sys/sys/sockio.h: socket ioctls (`_IO*('s', n, int)`) ----
pub const RUMP_SIOCSHIWAT: u64 = 0x80047300;
pub const RUMP_SIOCGHIWAT: u64 = 0x40047301;
pub const RUMP_SIOCSLOWAT: u64 = 0x80047302;
pub const RUMP_SIOCGLOWAT: u64 = 0x40047303;
pub const RUMP_SIOCATMARK: u64 = 0x40047307;
pub const RUMP_SIOCSPGRP: u64 = 0x80047308;
pub const RUMP_SIOCGPGRP: u64 = 0x40047309;

// ---- sys/sys/sockio.h: interface ioctls (`struct ifreq` is 144 bytes on amd64) ----
pub const RUMP_SIOCSIFADDR: u64 = 0x8090690c;
pub const RUMP_SIOCGIFADDR: u64 = 0xc0906921;
pub const RUMP_SIOCSIFDSTADDR: u64 = 0x8090690e;
pub const RUMP_SIOCGIFDSTADDR: u64 = 0xc0906922;
pub const RUMP_SIOCSIFFLAGS: u64 = 0x80906910;
pub const RUMP_SIOCGIFFLAGS: u64 = 0xc0906911;
pub const RUMP_SIOCGIFBRDADDR: u64 = 0xc0906923;
pub const RUMP_SIOCSIFBRDADDR: u64 = 0x80906913;
pub const RUMP_SIOCGIFCONF: u64 = 0xc0106926;
pub const RUMP_SIOCGIFNETMASK: u64 = 0xc0906925;
pub const RUMP_SIOCSIFNETMASK: u64 = 0x80906916;
pub const RUMP_SIOCGIFMETRIC: u64 = 0xc0906917;
pub const RUMP_SIOCSIFMETRIC: u64 = 0x80906918;
pub const RUMP_SIOCDIFADDR: u64 = 0x80906919;
pub const RUMP_SIOCAIFADDR: u64 = 0x8040691a;
pub const RUMP_SIOCGIFALIAS: u64 = 0xc040691b;
pub const RUMP_SIOCGIFAFLAG_IN: u64 = 0xc0906927;
pub const RUMP_SIOCADDMULTI: u64 = 0x80906931;
pub const RUMP_SIOCDELMULTI: u64 = 0x80906932;
pub const RUMP_SIOCSIFMTU: u64 = 0x8090697f;
pub const RUMP_SIOCGIFMTU: u64 = 0xc090697e;
pub const RUMP_SIOCIFCREATE: u64 = 0x8090697a;
pub const RUMP_SIOCIFDESTROY: u64 = 0x80906979;
pub const RUMP_SIOCIFGCLONERS: u64 = 0xc0106978;
pub const RUMP_SIOCGIFDLT: u64 = 0xc0906977;
pub const RUMP_SIOCGIFINDEX: u64 = 0xc090698c;

// ---- sys/net/if.h ----
pub const RUMP_IF_NAMESIZE: c_int = 16;
pub const RUMP_IFNAMSIZ: c_int = RUMP_IF_NAMESIZE;
pub const RUMP_IFF_UP: c_int = 0x0001;
pub const RUMP_IFF_BROADCAST: c_int = 0x0002;
pub const RUMP_IFF_DEBUG: c_int = 0x0004;
pub const RUMP_IFF_LOOPBACK: c_int = 0x0008;
pub const RUMP_IFF_POINTOPOINT: c_int = 0x0010;
pub const RUMP_IFF_NOTRAILERS: c_int = 0x0020;
pub const RUMP_IFF_RUNNING: c_int = 0x0040;
pub const RUMP_IFF_NOARP: c_int = 0x0080;
pub const RUMP_IFF_PROMISC: c_int = 0x0100;
pub const RUMP_IFF_ALLMULTI: c_int = 0x0200;
pub const RUMP_IFF_OACTIVE: c_int = 0x0400;
pub const RUMP_IFF_SIMPLEX: c_int = 0x0800;
pub const RUMP_IFF_LINK0: c_int = 0x1000;
pub const RUMP_IFF_LINK1: c_int = 0x2000;
pub const RUMP_IFF_LINK2: c_int = 0x4000;
pub const RUMP_IFF_MULTICAST: c_int = 0x8000;
/// Flags only the kernel changes (SIOCSIFFLAGS leaves them alone).
pub const RUMP_IFF_CANTCHANGE: c_int = 0x8f52;
pub const RUMP_LINK_STATE_UNKNOWN: c_int = 0;
pub const RUMP_LINK_STATE_DOWN: c_int = 1;
pub const RUMP_LINK_STATE_UP: c_int = 2;

// ---- sys/sys/sysctl.h, sys/netinet/in.h, sys/netinet/udp_var.h: sysctl names ----
// The integer names `__sysctl` takes; kern/kern_sysctl.rs registers the nodes under the
// same numbers.

/// Most components in a sysctl name.
pub const RUMP_CTL_MAXNAME: c_int = 12;
/// `kern.*`: the kernel's identity and limits.
pub const RUMP_CTL_KERN: c_int = 1;
/// `net.*`: networking; the second component is the protocol family.
pub const RUMP_CTL_NET: c_int = 4;
/// `kern.ostype` (a read-only string).
pub const RUMP_KERN_OSTYPE: c_int = 1;
/// `net.inet.ip.forwarding`.
pub const RUMP_IPCTL_FORWARDING: c_int = 1;
/// `net.inet.ip.ttl`.
pub const RUMP_IPCTL_DEFTTL: c_int = 3;
/// `net.inet.ip.mtudisc`: path MTU discovery (RFC 1191) for TCP.
pub const RUMP_IPCTL_MTUDISC: c_int = 9;
/// `net.inet.udp.sendspace`.
pub const RUMP_UDPCTL_SENDSPACE: c_int = 2;
/// `net.inet.udp.recvspace`.
pub const RUMP_UDPCTL_RECVSPACE: c_int = 3;

// ---- errno (sys/sys/errno.h); kern/errno.rs holds the same numbers ----
pub const RUMP_EPERM: c_int = 1;
pub const RUMP_ENOENT: c_int = 2;
pub const RUMP_ESRCH: c_int = 3;
pub const RUMP_EINTR: c_int = 4;
pub const RUMP_EIO: c_int = 5;
pub const RUMP_ENXIO: c_int = 6;
pub const RUMP_E2BIG: c_int = 7;
pub const RUMP_ENOEXEC: c_int = 8;
pub const RUMP_EBADF: c_int = 9;
pub const RUMP_ECHILD: c_int = 10;
pub const RUMP_EDEADLK: c_int = 11;
pub const RUMP_ENOMEM: c_int = 12;
pub const RUMP_EACCES: c_int = 13;
pub const RUMP_EFAULT: c_int = 14;
pub const RUMP_ENOTBLK: c_int = 15;
pub const RUMP_EBUSY: c_int = 16;
pub const RUMP_EEXIST: c_int = 17;
pub const RUMP_EXDEV: c_int = 18;
pub const RUMP_ENODEV: c_int = 19;
pub const RUMP_ENOTDIR: c_int = 20;
pub const RUMP_EISDIR: c_int = 21;
pub const RUMP_EINVAL: c_int = 22;
pub const RUMP_ENFILE: c_int = 23;
pub const RUMP_EMFILE: c_int = 24;
pub const RUMP_ENOTTY: c_int = 25;
pub const RUMP_ETXTBSY: c_int = 26;
pub const RUMP_EFBIG: c_int = 27;
pub const RUMP_ENOSPC: c_int = 28;
pub const RUMP_ESPIPE: c_int = 29;
pub const RUMP_EROFS: c_int = 30;
pub const RUMP_EMLINK: c_int = 31;
pub const RUMP_EPIPE: c_int = 32;
pub const RUMP_EDOM: c_int = 33;
pub const RUMP_ERANGE: c_int = 34;
pub const RUMP_EAGAIN: c_int = 35;
pub const RUMP_EWOULDBLOCK: c_int = RUMP_EAGAIN;
pub const RUMP_EINPROGRESS: c_int = 36;
pub const RUMP_EALREADY: c_int = 37;
pub const RUMP_ENOTSOCK: c_int = 38;
pub const RUMP_EDESTADDRREQ: c_int = 39;
pub const RUMP_EMSGSIZE: c_int = 40;
pub const RUMP_EPROTOTYPE: c_int = 41;
pub const RUMP_ENOPROTOOPT: c_int = 42;
pub const RUMP_EPROTONOSUPPORT: c_int = 43;
pub const RUMP_ESOCKTNOSUPPORT: c_int = 44;
pub const RUMP_EOPNOTSUPP: c_int = 45;
pub const RUMP_EPFNOSUPPORT: c_int = 46;
pub const RUMP_EAFNOSUPPORT: c_int = 47;
pub const RUMP_EADDRINUSE: c_int = 48;
pub const RUMP_EADDRNOTAVAIL: c_int = 49;
pub const RUMP_ENETDOWN: c_int = 50;
pub const RUMP_ENETUNREACH: c_int = 51;
pub const RUMP_ENETRESET: c_int = 52;
pub const RUMP_ECONNABORTED: c_int = 53;
pub const RUMP_ECONNRESET: c_int = 54;
pub const RUMP_ENOBUFS: c_int = 55;
pub const RUMP_EISCONN: c_int = 56;
pub const RUMP_ENOTCONN: c_int = 57;
pub const RUMP_ESHUTDOWN: c_int = 58;
pub const RUMP_ETOOMANYREFS: c_int = 59;
pub const RUMP_ETIMEDOUT: c_int = 60;
pub const RUMP_ECONNREFUSED: c_int = 61;
pub const RUMP_ELOOP: c_int = 62;
pub const RUMP_ENAMETOOLONG: c_int = 63;
pub const RUMP_EHOSTDOWN: c_int = 64;
pub const RUMP_EHOSTUNREACH: c_int = 65;
pub const RUMP_ENOTEMPTY: c_int = 66;
pub const RUMP_EPROCLIM: c_int = 67;
pub const RUMP_EUSERS: c_int = 68;
pub const RUMP_EDQUOT: c_int = 69;
pub const RUMP_ESTALE: c_int = 70;
pub const RUMP_EREMOTE: c_int = 71;
pub const RUMP_EBADRPC: c_int = 72;
pub const RUMP_ERPCMISMATCH: c_int = 73;
pub const RUMP_EPROGUNAVAIL: c_int = 74;
pub const RUMP_EPROGMISMATCH: c_int = 75;
pub const RUMP_EPROCUNAVAIL: c_int = 76;
pub const RUMP_ENOLCK: c_int = 77;
pub const RUMP_ENOSYS: c_int = 78;
pub const RUMP_EFTYPE: c_int = 79;
pub const RUMP_EAUTH: c_int = 80;
pub const RUMP_ENEEDAUTH: c_int = 81;
pub const RUMP_EIDRM: c_int = 82;
pub const RUMP_ENOMSG: c_int = 83;
pub const RUMP_EOVERFLOW: c_int = 84;
pub const RUMP_EILSEQ: c_int = 85;
pub const RUMP_ENOTSUP: c_int = 86;
pub const RUMP_ECANCELED: c_int = 87;
pub const RUMP_EBADMSG: c_int = 88;
pub const RUMP_ENODATA: c_int = 89;
pub const RUMP_ENOSR: c_int = 90;
pub const RUMP_ENOSTR: c_int = 91;
pub const RUMP_ETIME: c_int = 92;
pub const RUMP_ENOATTR: c_int = 93;
pub const RUMP_EMULTIHOP: c_int = 94;
pub const RUMP_ENOLINK: c_int = 95;
pub const RUMP_EPROTO: c_int = 96;
pub const RUMP_EOWNERDEAD: c_int = 97;
pub const RUMP_ENOTRECOVERABLE: c_int = 98;
pub const RUMP_ELAST: c_int = 98;

// ---- structs ----

/// `struct sockaddr`: NetBSD's, with `sa_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_sockaddr {
    pub sa_len: u8,
    pub sa_family: rump_sa_family_t,
    pub sa_data: [c_char; 14],
}

/// `struct in_addr` (network byte order).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_in_addr {
    pub s_addr: rump_in_addr_t,
}

/// `struct sockaddr_in`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_sockaddr_in {
    pub sin_len: u8,
    pub sin_family: rump_sa_family_t,
    pub sin_port: rump_in_port_t,
    pub sin_addr: rump_in_addr,
    pub sin_zero: [i8; 8],
}

/// `struct tcp_info` (netinet/tcp.h), filled by `getsockopt(IPPROTO_TCP, TCP_INFO)`.
/// Times are in microseconds. NetBSD's two 4-bit fields `tcpi_snd_wscale` and
/// `tcpi_rcv_wscale` share one byte here: send shift in the low 4 bits, receive shift
/// in the high 4 (as C compilers lay out the bit-fields on the targets we build for).
/// Fields named `__tcpi_*` are not maintained, as in NetBSD.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_tcp_info {
    pub tcpi_state: u8,
    pub __tcpi_ca_state: u8,
    pub __tcpi_retransmits: u8,
    pub __tcpi_probes: u8,
    pub __tcpi_backoff: u8,
    pub tcpi_options: u8,
    pub tcpi_wscale: u8,
    pub tcpi_rto: u32,
    pub __tcpi_ato: u32,
    pub tcpi_snd_mss: u32,
    pub tcpi_rcv_mss: u32,
    pub __tcpi_unacked: u32,
    pub __tcpi_sacked: u32,
    pub __tcpi_lost: u32,
    pub __tcpi_retrans: u32,
    pub __tcpi_fackets: u32,
    pub __tcpi_last_data_sent: u32,
    pub __tcpi_last_ack_sent: u32,
    pub tcpi_last_data_recv: u32,
    pub __tcpi_last_ack_recv: u32,
    pub __tcpi_pmtu: u32,
    pub __tcpi_rcv_ssthresh: u32,
    pub tcpi_rtt: u32,
    pub tcpi_rttvar: u32,
    pub tcpi_snd_ssthresh: u32,
    pub tcpi_snd_cwnd: u32,
    pub __tcpi_advmss: u32,
    pub __tcpi_reordering: u32,
    pub __tcpi_rcv_rtt: u32,
    pub tcpi_rcv_space: u32,
    pub tcpi_snd_wnd: u32,
    pub tcpi_snd_bwnd: u32,
    pub tcpi_snd_nxt: u32,
    pub tcpi_rcv_nxt: u32,
    pub tcpi_toe_tid: u32,
    pub tcpi_snd_rexmitpack: u32,
    pub tcpi_rcv_ooopack: u32,
    pub tcpi_snd_zerowin: u32,
    pub __tcpi_pad: [u32; 26],
}

/// `TCPI_OPT_TIMESTAMPS`: timestamps are on.
pub const RUMP_TCPI_OPT_TIMESTAMPS: c_int = 0x01;
/// `TCPI_OPT_SACK`: SACK is on.
pub const RUMP_TCPI_OPT_SACK: c_int = 0x02;
/// `TCPI_OPT_WSCALE`: window scaling is on.
pub const RUMP_TCPI_OPT_WSCALE: c_int = 0x04;
/// `TCPI_OPT_ECN`.
pub const RUMP_TCPI_OPT_ECN: c_int = 0x08;
/// `TCPI_OPT_TOE`.
pub const RUMP_TCPI_OPT_TOE: c_int = 0x10;

/// The union inside `struct in6_addr`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union rump_in6_addr_u {
    pub __u6_addr8: [u8; 16],
    pub __u6_addr16: [u16; 8],
    pub __u6_addr32: [u32; 4],
}

/// `struct in6_addr`; C reaches the bytes as `s6_addr`, a macro over the union, which is
/// named `__in6_u` as in glibc so that glibc's own `s6_addr` macro works on it too.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rump_in6_addr {
    pub __in6_u: rump_in6_addr_u,
}

impl rump_in6_addr {
    /// An address from its 16 bytes.
    pub const fn from_octets(s6_addr: [u8; 16]) -> Self {
        rump_in6_addr {
            __in6_u: rump_in6_addr_u {
                __u6_addr8: s6_addr,
            },
        }
    }

    /// The 16 bytes (`s6_addr`).
    pub fn octets(&self) -> [u8; 16] {
        // SAFETY: every member of the union is plain integers covering the same 16
        // bytes, so any bit pattern is a valid `[u8; 16]`.
        unsafe { self.__in6_u.__u6_addr8 }
    }
}

impl Default for rump_in6_addr {
    fn default() -> Self {
        Self::from_octets([0; 16])
    }
}

impl std::fmt::Debug for rump_in6_addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", std::net::Ipv6Addr::from(self.octets()))
    }
}

/// `struct sockaddr_in6`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_sockaddr_in6 {
    pub sin6_len: u8,
    pub sin6_family: rump_sa_family_t,
    pub sin6_port: rump_in_port_t,
    pub sin6_flowinfo: u32,
    pub sin6_addr: rump_in6_addr,
    pub sin6_scope_id: u32,
}

/// `struct sockaddr_un` (sys/sys/un.h).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_sockaddr_un {
    pub sun_len: u8,
    pub sun_family: rump_sa_family_t,
    pub sun_path: [c_char; 104],
}

/// `struct sockaddr_storage` (128 bytes, 8-aligned).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_sockaddr_storage {
    pub ss_len: u8,
    pub ss_family: rump_sa_family_t,
    pub __ss_pad1: [c_char; 6],
    pub __ss_align: i64,
    pub __ss_pad2: [c_char; 112],
}

impl rump_sockaddr_storage {
    /// All zeroes.
    pub const ZEROED: rump_sockaddr_storage = rump_sockaddr_storage {
        ss_len: 0,
        ss_family: 0,
        __ss_pad1: [0; 6],
        __ss_align: 0,
        __ss_pad2: [0; 112],
    };
}

/// `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_iovec {
    pub iov_base: *mut c_void,
    pub iov_len: usize,
}

/// `struct msghdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_msghdr {
    pub msg_name: *mut c_void,
    pub msg_namelen: rump_socklen_t,
    pub msg_iov: *mut rump_iovec,
    pub msg_iovlen: c_int,
    pub msg_control: *mut c_void,
    pub msg_controllen: rump_socklen_t,
    pub msg_flags: c_int,
}

/// `struct cmsghdr`; the data starts at `RUMP_CMSG_ALIGN(sizeof(struct cmsghdr))`, that
/// is 16 bytes in, on amd64 (NetBSD's `__ALIGNBYTES` is 7).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_cmsghdr {
    pub cmsg_len: rump_socklen_t,
    pub cmsg_level: c_int,
    pub cmsg_type: c_int,
}

/// `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_pollfd {
    pub fd: c_int,
    pub events: c_short,
    pub revents: c_short,
}

/// `struct timeval` (NetBSD's `time_t` is 64 bits, `suseconds_t` 32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_timeval {
    pub tv_sec: rump_time_t,
    pub tv_usec: rump_suseconds_t,
}

/// `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_timespec {
    pub tv_sec: rump_time_t,
    pub tv_nsec: c_long,
}

/// `struct linger`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_linger {
    pub l_onoff: c_int,
    pub l_linger: c_int,
}

/// `fd_set` with NetBSD's `FD_SETSIZE` of 256 and 32-bit masks; C manipulates it with
/// `RUMP_FD_SET`, `RUMP_FD_CLR`, `RUMP_FD_ISSET` and `RUMP_FD_ZERO`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_fd_set {
    pub fds_bits: [rump_fd_mask; 8],
}

/// `sigset_t` (for paccept).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_sigset_t {
    pub __bits: [u32; 4],
}

/// `struct ip_mreq`: IP_ADD_MEMBERSHIP and IP_DROP_MEMBERSHIP.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_ip_mreq {
    pub imr_multiaddr: rump_in_addr,
    pub imr_interface: rump_in_addr,
}

/// `struct in_pktinfo`: IP_PKTINFO and IP_RECVPKTINFO.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_in_pktinfo {
    pub ipi_addr: rump_in_addr,
    pub ipi_ifindex: c_uint,
}

/// `struct ipv6_mreq`: IPV6_JOIN_GROUP and IPV6_LEAVE_GROUP.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_ipv6_mreq {
    pub ipv6mr_multiaddr: rump_in6_addr,
    pub ipv6mr_interface: c_uint,
}

/// `struct in6_pktinfo`: IPV6_PKTINFO.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_in6_pktinfo {
    pub ipi6_addr: rump_in6_addr,
    pub ipi6_ifindex: c_uint,
}

/// The name part of `struct ifreq`: NetBSD declares `char ifr_name[IFNAMSIZ]` directly,
/// glibc wraps it like this and defines `ifr_name` as `ifr_ifrn.ifrn_name`; rumpdefs.h
/// defines the same macro, so `ifr.ifr_name` works with or without `<net/if.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_ifreq_ifrn {
    pub ifrn_name: [c_char; 16],
}

/// The `ifru_b` member of `ifr_ifru` (an anonymous struct in NetBSD).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_ifreq_buf {
    pub b_buflen: u32,
    pub b_buf: *mut c_void,
}

/// The union `ifr_ifru` of `struct ifreq`, with NetBSD's members, plus `ifru_ivalue` and
/// `ifru_netmask` so that glibc's `ifr_metric`, `ifr_ifindex` and `ifr_netmask` macros
/// also land on the right bytes (same offset, same type as NetBSD's `ifru_metric` and
/// `ifru_addr`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union rump_ifreq_ifru {
    pub ifru_addr: rump_sockaddr,
    pub ifru_dstaddr: rump_sockaddr,
    pub ifru_broadaddr: rump_sockaddr,
    pub ifru_space: rump_sockaddr_storage,
    pub ifru_flags: c_short,
    pub ifru_addrflags: c_int,
    pub ifru_metric: c_int,
    pub ifru_mtu: c_int,
    pub ifru_dlt: c_int,
    pub ifru_value: c_uint,
    pub ifru_data: *mut c_void,
    pub ifru_b: rump_ifreq_buf,
    pub ifru_ivalue: c_int,
    pub ifru_netmask: rump_sockaddr,
}

/// `struct ifreq`: the argument of the SIOC[GS]IF* ioctls. C code uses NetBSD's field
/// macros: `ifr_name`, `ifr_addr`, `ifr_dstaddr`, `ifr_broadaddr`, `ifr_space`,
/// `ifr_flags`, `ifr_addrflags`, `ifr_metric`, `ifr_mtu`, `ifr_dlt`, `ifr_value`,
/// `ifr_media`, `ifr_data`, `ifr_buf`, `ifr_buflen`, `ifr_index`, `ifr_ifindex`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rump_ifreq {
    pub ifr_ifrn: rump_ifreq_ifrn,
    pub ifr_ifru: rump_ifreq_ifru,
}

impl rump_ifreq {
    /// A zeroed request naming interface `name`.
    ///
    /// # Errors
    /// `EINVAL` when `name` does not fit `IFNAMSIZ` with its terminating NUL.
    pub fn new(name: &[u8]) -> Result<Self, Errno> {
        let mut r = rump_ifreq {
            ifr_ifrn: rump_ifreq_ifrn::default(),
            ifr_ifru: rump_ifreq_ifru {
                ifru_space: rump_sockaddr_storage::ZEROED,
            },
        };
        if name.len() >= r.ifr_ifrn.ifrn_name.len() || name.contains(&0) {
            return Err(Errno::EINVAL);
        }
        for (d, s) in r.ifr_ifrn.ifrn_name.iter_mut().zip(name) {
            *d = *s as c_char;
        }
        Ok(r)
    }

    /// The interface name, up to its NUL (all 16 bytes when there is none).
    pub fn name(&self) -> Vec<u8> {
        self.ifr_ifrn
            .ifrn_name
            .iter()
            .map(|c| *c as u8)
            .take_while(|c| *c != 0)
            .collect()
    }

    /// The 128 bytes of the `ifr_ifru` union, for parsing `ifr_addr` and friends.
    pub fn ifru_bytes(&self) -> &[u8; 128] {
        // SAFETY: the union is 128 bytes (asserted below), 8-aligned, and every byte of it
        // is initialized: `new` and C callers hand over the whole object, and reading any
        // bit pattern as `u8` is valid.
        unsafe { &*(std::ptr::addr_of!(self.ifr_ifru) as *const [u8; 128]) }
    }

    /// The `ifr_ifru` union as mutable bytes, for writing addresses back.
    pub fn ifru_bytes_mut(&mut self) -> &mut [u8; 128] {
        // SAFETY: as in `ifru_bytes`; every member of the union is plain data, so any
        // bytes written here leave every member valid.
        unsafe { &mut *(std::ptr::addr_of_mut!(self.ifr_ifru) as *mut [u8; 128]) }
    }

    /// `ifr_flags` (a `short` at the start of the union).
    pub fn flags(&self) -> c_short {
        let b = self.ifru_bytes();
        c_short::from_ne_bytes([b[0], b[1]])
    }

    /// `ifr_metric`, `ifr_mtu`, `ifr_dlt`, `ifr_value`, `ifr_index`: the `int` at the start
    /// of the union.
    pub fn int_value(&self) -> c_int {
        let b = self.ifru_bytes();
        c_int::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl std::fmt::Debug for rump_ifreq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("rump_ifreq")
            .field("ifr_name", &String::from_utf8_lossy(&self.name()))
            .finish_non_exhaustive()
    }
}

/// The union `ifc_ifcu` of `struct ifconf`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union rump_ifconf_ifcu {
    pub ifcu_buf: *mut c_void,
    pub ifcu_req: *mut rump_ifreq,
}

/// `struct ifconf`: the argument of SIOCGIFCONF; C uses `ifc_buf` and `ifc_req`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rump_ifconf {
    pub ifc_len: c_int,
    pub ifc_ifcu: rump_ifconf_ifcu,
}

/// `struct ifaliasreq`: the argument of SIOCAIFADDR (`ifra_broadaddr` is a macro for
/// `ifra_dstaddr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_ifaliasreq {
    pub ifra_name: [c_char; 16],
    pub ifra_addr: rump_sockaddr,
    pub ifra_dstaddr: rump_sockaddr,
    pub ifra_mask: rump_sockaddr,
}

/// `struct in_aliasreq` (sys/netinet/in_var.h): `ifaliasreq` with `sockaddr_in` members,
/// the same 64 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rump_in_aliasreq {
    pub ifra_name: [c_char; 16],
    pub ifra_addr: rump_sockaddr_in,
    pub ifra_dstaddr: rump_sockaddr_in,
    pub ifra_mask: rump_sockaddr_in,
}

/// `struct if_clonereq`: the argument of SIOCIFGCLONERS.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rump_if_clonereq {
    pub ifcr_total: c_int,
    pub ifcr_count: c_int,
    pub ifcr_buffer: *mut c_char,
}

// ---- layout asserts: NetBSD amd64 sizes, alignments and offsets ----

/// Asserts at compile time the size and alignment of a struct and the offsets of fields.
macro_rules! assert_layout {
    ($t:ty, size $size:expr, align $align:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = assert!(std::mem::size_of::<$t>() == $size);
        const _: () = assert!(std::mem::align_of::<$t>() == $align);
        $(const _: () = assert!(std::mem::offset_of!($t, $field) == $off);)*
    };
}

assert_layout!(rump_sockaddr, size 16, align 1, sa_len @ 0, sa_family @ 1, sa_data @ 2);
assert_layout!(rump_in_addr, size 4, align 4, s_addr @ 0);
assert_layout!(rump_sockaddr_in, size 16, align 4,
    sin_len @ 0, sin_family @ 1, sin_port @ 2, sin_addr @ 4, sin_zero @ 8);
assert_layout!(rump_tcp_info, size 236, align 4,
    tcpi_state @ 0, tcpi_options @ 5, tcpi_wscale @ 6, tcpi_rto @ 8, tcpi_snd_mss @ 16,
    tcpi_last_data_recv @ 52, tcpi_rtt @ 68, tcpi_snd_cwnd @ 80, tcpi_rcv_space @ 96,
    tcpi_snd_wnd @ 100, tcpi_snd_nxt @ 108, tcpi_rcv_nxt @ 112, tcpi_snd_rexmitpack @ 120,
    tcpi_snd_zerowin @ 128, __tcpi_pad @ 132);
assert_layout!(rump_in6_addr_u, size 16, align 4);
assert_layout!(rump_in6_addr, size 16, align 4, __in6_u @ 0);
assert_layout!(rump_sockaddr_in6, size 28, align 4,
    sin6_len @ 0, sin6_family @ 1, sin6_port @ 2, sin6_flowinfo @ 4, sin6_addr @ 8,
    sin6_scope_id @ 24);
assert_layout!(rump_sockaddr_un, size 106, align 1, sun_len @ 0, sun_family @ 1, sun_path @ 2);
assert_layout!(rump_sockaddr_storage, size 128, align 8,
    ss_len @ 0, ss_family @ 1, __ss_pad1 @ 2, __ss_align @ 8, __ss_pad2 @ 16);
assert_layout!(rump_iovec, size 16, align 8, iov_base @ 0, iov_len @ 8);
assert_layout!(rump_msghdr, size 48, align 8,
    msg_name @ 0, msg_namelen @ 8, msg_iov @ 16, msg_iovlen @ 24, msg_control @ 32,
    msg_controllen @ 40, msg_flags @ 44);
assert_layout!(rump_cmsghdr, size 12, align 4, cmsg_len @ 0, cmsg_level @ 4, cmsg_type @ 8);
assert_layout!(rump_pollfd, size 8, align 4, fd @ 0, events @ 4, revents @ 6);
assert_layout!(rump_timeval, size 16, align 8, tv_sec @ 0, tv_usec @ 8);
assert_layout!(rump_timespec, size 16, align 8, tv_sec @ 0, tv_nsec @ 8);
assert_layout!(rump_linger, size 8, align 4, l_onoff @ 0, l_linger @ 4);
assert_layout!(rump_fd_set, size 32, align 4, fds_bits @ 0);
assert_layout!(rump_sigset_t, size 16, align 4, __bits @ 0);
assert_layout!(rump_ip_mreq, size 8, align 4, imr_multiaddr @ 0, imr_interface @ 4);
assert_layout!(rump_in_pktinfo, size 8, align 4, ipi_addr @ 0, ipi_ifindex @ 4);
assert_layout!(rump_ipv6_mreq, size 20, align 4, ipv6mr_multiaddr @ 0, ipv6mr_interface @ 16);
assert_layout!(rump_in6_pktinfo, size 20, align 4, ipi6_addr @ 0, ipi6_ifindex @ 16);
assert_layout!(rump_ifreq_ifrn, size 16, align 1, ifrn_name @ 0);
assert_layout!(rump_ifreq_buf, size 16, align 8, b_buflen @ 0, b_buf @ 8);
assert_layout!(rump_ifreq_ifru, size 128, align 8);
assert_layout!(rump_ifreq, size 144, align 8, ifr_ifrn @ 0, ifr_ifru @ 16);
assert_layout!(rump_ifconf_ifcu, size 8, align 8);
assert_layout!(rump_ifconf, size 16, align 8, ifc_len @ 0, ifc_ifcu @ 8);
assert_layout!(rump_ifaliasreq, size 64, align 1,
    ifra_name @ 0, ifra_addr @ 16, ifra_dstaddr @ 32, ifra_mask @ 48);
assert_layout!(rump_in_aliasreq, size 64, align 4,
    ifra_name @ 0, ifra_addr @ 16, ifra_dstaddr @ 32, ifra_mask @ 48);
assert_layout!(rump_if_clonereq, size 16, align 8,
    ifcr_total @ 0, ifcr_count @ 4, ifcr_buffer @ 8);

// ---- net/route.h (routing sockets) ----
// Everything a PF_ROUTE socket and route(8) speak: message types, route flags, address
// bits, metrics and the message header. net/rtsock_msg.rs parses and builds the
// messages; net/route.rs names the flags for the kernel.

/// Version of the routing message format (`rtm_version`).
pub const RUMP_RTM_VERSION: c_int = 4;
/// Units of `rmx_rtt` and `rmx_rttvar`: microseconds.
pub const RUMP_RTM_RTTUNIT: c_int = 1000000;

// Message types (`rtm_type`). 0xb (RTM_RESOLVE) is retired in NetBSD.
pub const RUMP_RTM_ADD: c_int = 0x1;
pub const RUMP_RTM_DELETE: c_int = 0x2;
pub const RUMP_RTM_CHANGE: c_int = 0x3;
pub const RUMP_RTM_GET: c_int = 0x4;
pub const RUMP_RTM_LOSING: c_int = 0x5;
pub const RUMP_RTM_REDIRECT: c_int = 0x6;
pub const RUMP_RTM_MISS: c_int = 0x7;
pub const RUMP_RTM_LOCK: c_int = 0x8;
pub const RUMP_RTM_OLDADD: c_int = 0x9;
pub const RUMP_RTM_OLDDEL: c_int = 0xa;
pub const RUMP_RTM_ONEWADDR: c_int = 0xc;
pub const RUMP_RTM_ODELADDR: c_int = 0xd;
pub const RUMP_RTM_OOIFINFO: c_int = 0xe;
pub const RUMP_RTM_OIFINFO: c_int = 0xf;
pub const RUMP_RTM_IFANNOUNCE: c_int = 0x10;
pub const RUMP_RTM_IEEE80211: c_int = 0x11;
pub const RUMP_RTM_SETGATE: c_int = 0x12;
pub const RUMP_RTM_LLINFO_UPD: c_int = 0x13;
pub const RUMP_RTM_IFINFO: c_int = 0x14;
pub const RUMP_RTM_OCHGADDR: c_int = 0x15;
pub const RUMP_RTM_NEWADDR: c_int = 0x16;
pub const RUMP_RTM_DELADDR: c_int = 0x17;
pub const RUMP_RTM_CHGADDR: c_int = 0x18;

// Route flags (`rtm_flags`, `rt_flags`). 0x100 was RTF_CLONING, 0x400 RTF_LLINFO.
pub const RUMP_RTF_UP: c_int = 0x1;
pub const RUMP_RTF_GATEWAY: c_int = 0x2;
pub const RUMP_RTF_HOST: c_int = 0x4;
pub const RUMP_RTF_REJECT: c_int = 0x8;
pub const RUMP_RTF_DYNAMIC: c_int = 0x10;
pub const RUMP_RTF_MODIFIED: c_int = 0x20;
pub const RUMP_RTF_DONE: c_int = 0x40;
pub const RUMP_RTF_MASK: c_int = 0x80;
pub const RUMP_RTF_CONNECTED: c_int = 0x100;
pub const RUMP_RTF_LLDATA: c_int = 0x400;
pub const RUMP_RTF_STATIC: c_int = 0x800;
pub const RUMP_RTF_BLACKHOLE: c_int = 0x1000;
pub const RUMP_RTF_PROTO2: c_int = 0x4000;
pub const RUMP_RTF_PROTO1: c_int = 0x8000;
pub const RUMP_RTF_SRC: c_int = 0x10000;
pub const RUMP_RTF_ANNOUNCE: c_int = 0x20000;
pub const RUMP_RTF_LOCAL: c_int = 0x40000;
pub const RUMP_RTF_BROADCAST: c_int = 0x80000;
pub const RUMP_RTF_UPDATING: c_int = 0x100000;
/// Never stored in a route: tells rtrequest1 to keep the given ifa.
pub const RUMP_RTF_DONTCHANGEIFA: c_int = 0x200000;

// Metrics being initialised or locked (`rtm_inits`, `rmx_locks`).
pub const RUMP_RTV_MTU: c_int = 0x1;
pub const RUMP_RTV_HOPCOUNT: c_int = 0x2;
pub const RUMP_RTV_EXPIRE: c_int = 0x4;
pub const RUMP_RTV_RPIPE: c_int = 0x8;
pub const RUMP_RTV_SPIPE: c_int = 0x10;
pub const RUMP_RTV_SSTHRESH: c_int = 0x20;
pub const RUMP_RTV_RTT: c_int = 0x40;
pub const RUMP_RTV_RTTVAR: c_int = 0x80;

// Sockaddrs present after the header (`rtm_addrs`), in this order.
pub const RUMP_RTA_DST: c_int = 0x1;
pub const RUMP_RTA_GATEWAY: c_int = 0x2;
pub const RUMP_RTA_NETMASK: c_int = 0x4;
pub const RUMP_RTA_GENMASK: c_int = 0x8;
pub const RUMP_RTA_IFP: c_int = 0x10;
pub const RUMP_RTA_IFA: c_int = 0x20;
pub const RUMP_RTA_AUTHOR: c_int = 0x40;
pub const RUMP_RTA_BRD: c_int = 0x80;
pub const RUMP_RTA_TAG: c_int = 0x100;

// Index of each sockaddr (bit number of its RTA_* flag).
pub const RUMP_RTAX_DST: c_int = 0;
pub const RUMP_RTAX_GATEWAY: c_int = 1;
pub const RUMP_RTAX_NETMASK: c_int = 2;
pub const RUMP_RTAX_GENMASK: c_int = 3;
pub const RUMP_RTAX_IFP: c_int = 4;
pub const RUMP_RTAX_IFA: c_int = 5;
pub const RUMP_RTAX_AUTHOR: c_int = 6;
pub const RUMP_RTAX_BRD: c_int = 7;
pub const RUMP_RTAX_TAG: c_int = 8;
pub const RUMP_RTAX_MAX: c_int = 9;

/// Routing socket option (level `AF_ROUTE`): which `rtm_type`s to receive.
pub const RUMP_RO_MSGFILTER: c_int = 1;

/// `struct rt_metrics`: per-route metrics, all 64-bit since NetBSD 8.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rump_rt_metrics {
    pub rmx_locks: u64,
    pub rmx_mtu: u64,
    pub rmx_hopcount: u64,
    pub rmx_recvpipe: u64,
    pub rmx_sendpipe: u64,
    pub rmx_ssthresh: u64,
    pub rmx_rtt: u64,
    pub rmx_rttvar: u64,
    pub rmx_expire: rump_time_t,
    pub rmx_pksent: rump_time_t,
}

/// `struct rt_msghdr`: the header of every route message. NetBSD aligns `rtm_msglen`
/// and `rtm_rmx` to 8 bytes (`__align64`); on LP64 the u64 metrics give the same
/// layout without an attribute: 4 bytes of padding after `rtm_index` come from the
/// int that follows, and 4 after `rtm_inits` from the metrics.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rump_rt_msghdr {
    pub rtm_msglen: u16,
    pub rtm_version: u8,
    pub rtm_type: u8,
    pub rtm_index: u16,
    pub rtm_flags: c_int,
    pub rtm_addrs: c_int,
    pub rtm_pid: c_int,
    pub rtm_seq: c_int,
    pub rtm_errno: c_int,
    pub rtm_use: c_int,
    pub rtm_inits: c_int,
    pub rtm_rmx: rump_rt_metrics,
}

assert_layout!(rump_rt_metrics, size 80, align 8,
    rmx_locks @ 0, rmx_mtu @ 8, rmx_hopcount @ 16, rmx_recvpipe @ 24, rmx_sendpipe @ 32,
    rmx_ssthresh @ 40, rmx_rtt @ 48, rmx_rttvar @ 56, rmx_expire @ 64, rmx_pksent @ 72);
assert_layout!(rump_rt_msghdr, size 120, align 8,
    rtm_msglen @ 0, rtm_version @ 2, rtm_type @ 3, rtm_index @ 4, rtm_flags @ 8,
    rtm_addrs @ 12, rtm_pid @ 16, rtm_seq @ 20, rtm_errno @ 24, rtm_use @ 28,
    rtm_inits @ 32, rtm_rmx @ 40);
// ---- end of net/route.h ----

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// NetBSD's `_IOC(inout, group, num, len)` (sys/sys/ioccom.h).
    const fn ioc(inout: u64, group: u8, num: u64, len: usize) -> u64 {
        inout
            | (((len as u64) & RUMP_IOCPARM_MASK) << RUMP_IOCPARM_SHIFT)
            | ((group as u64) << RUMP_IOCGROUP_SHIFT)
            | num
    }

    #[test]
    fn ioctl_numbers_match_their_encoding() {
        let int = size_of::<c_int>();
        let ifreq = size_of::<rump_ifreq>();
        let (v, r, w, rw) = (RUMP_IOC_VOID, RUMP_IOC_OUT, RUMP_IOC_IN, RUMP_IOC_INOUT);
        let table: &[(&str, u64, u64)] = &[
            ("FIOCLEX", RUMP_FIOCLEX, ioc(v, b'f', 1, 0)),
            ("FIONCLEX", RUMP_FIONCLEX, ioc(v, b'f', 2, 0)),
            ("FIONREAD", RUMP_FIONREAD, ioc(r, b'f', 127, int)),
            ("FIONBIO", RUMP_FIONBIO, ioc(w, b'f', 126, int)),
            ("FIOASYNC", RUMP_FIOASYNC, ioc(w, b'f', 125, int)),
            ("FIOSETOWN", RUMP_FIOSETOWN, ioc(w, b'f', 124, int)),
            ("FIOGETOWN", RUMP_FIOGETOWN, ioc(r, b'f', 123, int)),
            ("FIONWRITE", RUMP_FIONWRITE, ioc(r, b'f', 121, int)),
            ("FIONSPACE", RUMP_FIONSPACE, ioc(r, b'f', 120, int)),
            ("SIOCSHIWAT", RUMP_SIOCSHIWAT, ioc(w, b's', 0, int)),
            ("SIOCGHIWAT", RUMP_SIOCGHIWAT, ioc(r, b's', 1, int)),
            ("SIOCSLOWAT", RUMP_SIOCSLOWAT, ioc(w, b's', 2, int)),
            ("SIOCGLOWAT", RUMP_SIOCGLOWAT, ioc(r, b's', 3, int)),
            ("SIOCATMARK", RUMP_SIOCATMARK, ioc(r, b's', 7, int)),
            ("SIOCSPGRP", RUMP_SIOCSPGRP, ioc(w, b's', 8, int)),
            ("SIOCGPGRP", RUMP_SIOCGPGRP, ioc(r, b's', 9, int)),
            ("SIOCSIFADDR", RUMP_SIOCSIFADDR, ioc(w, b'i', 12, ifreq)),
            ("SIOCGIFADDR", RUMP_SIOCGIFADDR, ioc(rw, b'i', 33, ifreq)),
            (
                "SIOCSIFDSTADDR",
                RUMP_SIOCSIFDSTADDR,
                ioc(w, b'i', 14, ifreq),
            ),
            (
                "SIOCGIFDSTADDR",
                RUMP_SIOCGIFDSTADDR,
                ioc(rw, b'i', 34, ifreq),
            ),
            ("SIOCSIFFLAGS", RUMP_SIOCSIFFLAGS, ioc(w, b'i', 16, ifreq)),
            ("SIOCGIFFLAGS", RUMP_SIOCGIFFLAGS, ioc(rw, b'i', 17, ifreq)),
            (
                "SIOCGIFBRDADDR",
                RUMP_SIOCGIFBRDADDR,
                ioc(rw, b'i', 35, ifreq),
            ),
            (
                "SIOCSIFBRDADDR",
                RUMP_SIOCSIFBRDADDR,
                ioc(w, b'i', 19, ifreq),
            ),
            (
                "SIOCGIFCONF",
                RUMP_SIOCGIFCONF,
                ioc(rw, b'i', 38, size_of::<rump_ifconf>()),
            ),
            (
                "SIOCGIFNETMASK",
                RUMP_SIOCGIFNETMASK,
                ioc(rw, b'i', 37, ifreq),
            ),
            (
                "SIOCSIFNETMASK",
                RUMP_SIOCSIFNETMASK,
                ioc(w, b'i', 22, ifreq),
            ),
            (
                "SIOCGIFMETRIC",
                RUMP_SIOCGIFMETRIC,
                ioc(rw, b'i', 23, ifreq),
            ),
            ("SIOCSIFMETRIC", RUMP_SIOCSIFMETRIC, ioc(w, b'i', 24, ifreq)),
            ("SIOCDIFADDR", RUMP_SIOCDIFADDR, ioc(w, b'i', 25, ifreq)),
            (
                "SIOCAIFADDR",
                RUMP_SIOCAIFADDR,
                ioc(w, b'i', 26, size_of::<rump_ifaliasreq>()),
            ),
            (
                "SIOCGIFALIAS",
                RUMP_SIOCGIFALIAS,
                ioc(rw, b'i', 27, size_of::<rump_ifaliasreq>()),
            ),
            (
                "SIOCGIFAFLAG_IN",
                RUMP_SIOCGIFAFLAG_IN,
                ioc(rw, b'i', 39, ifreq),
            ),
            ("SIOCADDMULTI", RUMP_SIOCADDMULTI, ioc(w, b'i', 49, ifreq)),
            ("SIOCDELMULTI", RUMP_SIOCDELMULTI, ioc(w, b'i', 50, ifreq)),
            ("SIOCSIFMTU", RUMP_SIOCSIFMTU, ioc(w, b'i', 127, ifreq)),
            ("SIOCGIFMTU", RUMP_SIOCGIFMTU, ioc(rw, b'i', 126, ifreq)),
            ("SIOCIFCREATE", RUMP_SIOCIFCREATE, ioc(w, b'i', 122, ifreq)),
            (
                "SIOCIFDESTROY",
                RUMP_SIOCIFDESTROY,
                ioc(w, b'i', 121, ifreq),
            ),
            (
                "SIOCIFGCLONERS",
                RUMP_SIOCIFGCLONERS,
                ioc(rw, b'i', 120, size_of::<rump_if_clonereq>()),
            ),
            ("SIOCGIFDLT", RUMP_SIOCGIFDLT, ioc(rw, b'i', 119, ifreq)),
            ("SIOCGIFINDEX", RUMP_SIOCGIFINDEX, ioc(rw, b'i', 140, ifreq)),
        ];
        for (name, value, encoded) in table {
            assert_eq!(
                *value, *encoded,
                "RUMP_{name} = {value:#x}, _IOC gives {encoded:#x}"
            );
        }
        // Every ioctl constant of this file is in the table.
        let source = include_str!("netbsd.rs");
        let declared = source
            .lines()
            .filter(|l| l.starts_with("pub const RUMP_FIO") || l.starts_with("pub const RUMP_SIOC"))
            .count();
        assert_eq!(declared, table.len());
        assert_eq!(RUMP_IOC_INOUT, RUMP_IOC_IN | RUMP_IOC_OUT);
    }

    /// `(name, value)` of every `pub const RUMP_<prefix>...: c_int = <decimal>;` line.
    fn declared(prefix: &str) -> Vec<(String, i32)> {
        let source = include_str!("netbsd.rs");
        let head = format!("pub const RUMP_{prefix}");
        source
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(&head)?;
                let (name, value) = rest.split_once(": c_int = ")?;
                let value = value.strip_suffix(';')?.parse().ok()?;
                Some((format!("{prefix}{name}"), value))
            })
            .collect()
    }

    #[test]
    fn every_errno_constant_equals_the_kernel_errno() {
        let consts = declared("E");
        for (name, value) in &consts {
            if name == "ELAST" {
                continue;
            }
            let known = Errno::ALL.iter().find(|(n, _)| n == name);
            let (_, e) = known.unwrap_or_else(|| panic!("RUMP_{name} has no Errno::{name}"));
            assert_eq!(e.0, *value, "RUMP_{name}");
        }
        for (name, e) in Errno::ALL {
            assert!(
                consts.iter().any(|(n, v)| n == name && *v == e.0),
                "Errno::{name} has no RUMP_{name}"
            );
        }
        assert_eq!(consts.len(), 98 + 1);
        assert_eq!(RUMP_ELAST, Errno::ALL.len() as i32);
        assert_eq!(RUMP_EWOULDBLOCK, Errno::EWOULDBLOCK.0);
        assert_eq!(RUMP_ECONNREFUSED, Errno::ECONNREFUSED.0);
    }

    #[test]
    fn derived_constants() {
        assert_eq!(RUMP_SOCK_FLAGS_MASK as u32, 0xf000_0000);
        assert_eq!(
            RUMP_SOCK_FLAGS_MASK & (RUMP_SOCK_CLOEXEC | RUMP_SOCK_NONBLOCK | RUMP_SOCK_NOSIGPIPE),
            RUMP_SOCK_CLOEXEC | RUMP_SOCK_NONBLOCK | RUMP_SOCK_NOSIGPIPE
        );
        assert_eq!(
            RUMP_IFF_CANTCHANGE,
            RUMP_IFF_BROADCAST
                | RUMP_IFF_POINTOPOINT
                | RUMP_IFF_RUNNING
                | RUMP_IFF_OACTIVE
                | RUMP_IFF_SIMPLEX
                | RUMP_IFF_MULTICAST
                | RUMP_IFF_ALLMULTI
                | RUMP_IFF_PROMISC
        );
        assert_eq!(
            RUMP_FD_SETSIZE as usize,
            size_of::<rump_fd_set>() * 8,
            "FD_SETSIZE bits in fd_set"
        );
        assert_eq!(RUMP_NFDBITS as usize, rump_fd_mask::BITS as usize);
        assert_eq!(RUMP_IFNAMSIZ as usize, size_of::<rump_ifreq_ifrn>());
    }

    #[test]
    fn sysctl_names_match_the_kernel_tree() {
        use crate::kern::kern_sysctl as ks;
        assert_eq!(RUMP_CTL_MAXNAME as usize, ks::CTL_MAXNAME);
        assert_eq!((RUMP_CTL_KERN, RUMP_CTL_NET), (ks::CTL_KERN, ks::CTL_NET));
        assert_eq!(
            (RUMP_IPCTL_FORWARDING, RUMP_IPCTL_DEFTTL),
            (ks::IPCTL_FORWARDING, ks::IPCTL_DEFTTL)
        );
        assert_eq!(
            (RUMP_UDPCTL_SENDSPACE, RUMP_UDPCTL_RECVSPACE),
            (ks::UDPCTL_SENDSPACE, ks::UDPCTL_RECVSPACE)
        );
        let s = ks::Sysctl::new();
        let fwd = s.lookup_name("net.inet.ip.forwarding").unwrap();
        assert_eq!(
            fwd,
            [
                RUMP_CTL_NET,
                RUMP_PF_INET,
                RUMP_IPPROTO_IP,
                RUMP_IPCTL_FORWARDING
            ]
        );
    }

    #[test]
    fn ifreq_name_and_union_bytes() {
        let mut r = rump_ifreq::new(b"shmif0").unwrap();
        assert_eq!(r.name(), b"shmif0");
        assert!(r.ifru_bytes().iter().all(|b| *b == 0));
        r.ifr_ifru.ifru_mtu = 1500;
        assert_eq!(r.int_value(), 1500);
        r.ifr_ifru.ifru_flags = RUMP_IFF_UP as c_short;
        assert_eq!(r.flags(), RUMP_IFF_UP as c_short);
        r.ifru_bytes_mut()[1] = RUMP_AF_INET as u8;
        // SAFETY: the union is plain data; reading it as a sockaddr is valid.
        let family = unsafe { r.ifr_ifru.ifru_addr.sa_family };
        assert_eq!(family, RUMP_AF_INET as u8);
        assert_eq!(
            rump_ifreq::new(b"0123456789abcdef").unwrap_err(),
            Errno::EINVAL
        );
        assert_eq!(rump_ifreq::new(b"a\0b").unwrap_err(), Errno::EINVAL);
        assert!(rump_ifreq::new(b"0123456789abcde").is_ok());
        assert!(format!("{r:?}").contains("shmif0"));
    }

    #[test]
    fn in6_addr_octets() {
        let a = rump_in6_addr::from_octets([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(a.octets()[0], 0xfe);
        assert_eq!(format!("{a:?}"), "fe80::1");
        assert_eq!(rump_in6_addr::default().octets(), [0; 16]);
    }
}
