//! The one translation between the Linux host ABI and the NetBSD ABI.
//!
//! librump speaks NetBSD inside and at `rump_sys_*`. Three users speak Linux: the host-ABI
//! entry points behind the paper's Figure 4 macros, the LD_PRELOAD hijack, and sockin when
//! it forwards a NetBSD socket to a host socket. All of them translate through the pure
//! functions here and nowhere else (STYLE.md habit 6), like librumphijack's single place
//! that translates constants.
//!
//! Conventions:
//! - `x_to_host` goes from NetBSD to Linux numbers, `x_to_netbsd` from Linux to NetBSD
//!   (errno keeps the names `errno_to_host` and `errno_from_host`).
//! - Each translation is a table of `(NetBSD, Linux)` pairs read in both directions; the
//!   Linux side is always the `libc` crate's constant, except for the few ioctls `libc`
//!   does not define (named `LINUX_*` below, from `<asm-generic/sockios.h>`).
//! - A value with no counterpart gives `None` (enumerations, socket types) or an `Err`
//!   (Linux message flags NetBSD cannot honour, option values); each function says which
//!   errno the caller should report.
//! - Socket option values are converted with the option named in NetBSD numbers in both
//!   directions (translate the name first with [`sockopt_to_netbsd`]).
//! - Translating never touches kernel state.
//!
//! What is lossy, on purpose:
//! - errno: Linux folds `ENOTSUP` into `EOPNOTSUPP`, so NetBSD's `ENOTSUP` comes back as
//!   `EOPNOTSUPP`; NetBSD-only errnos become the nearest Linux one ([`errno_to_host`]) and
//!   Linux-only errnos become the nearest NetBSD one or `EIO` ([`errno_from_host`]).
//! - `SOCK_NOSIGPIPE` and `MSG_BCAST`/`MSG_MCAST`/`MSG_NOTIFICATION` have no Linux bit and
//!   are dropped on the way out; `MSG_NBIO` becomes `MSG_DONTWAIT`.
//! - Linux send hints (`MSG_MORE`, `MSG_CONFIRM`, `MSG_ZEROCOPY`) and unknown bits are
//!   dropped on the way in, as Linux ignores unknown flags; `POLLRDHUP` and `POLLMSG` are
//!   dropped too (NetBSD cannot report them).
//! - File status flags keep only the bits both systems define.

use std::os::raw::{c_int, c_short};

use super::netbsd::*;
use super::sockaddr;
use crate::kern::errno::Errno;

/// `(NetBSD, Linux)` pairs.
type Pairs = &'static [(c_int, c_int)];

fn netbsd_to_host(table: Pairs, v: c_int) -> Option<c_int> {
    table.iter().find(|(nb, _)| *nb == v).map(|(_, h)| *h)
}

fn host_to_netbsd(table: Pairs, v: c_int) -> Option<c_int> {
    table.iter().find(|(_, h)| *h == v).map(|(nb, _)| *nb)
}

/// Translates a flag set bit group by bit group; a group matches when all its bits are
/// set (Linux's `O_SYNC` includes `O_DSYNC`'s bit, so it must come first). Returns the
/// translation and the bits no pair claimed.
fn map_bits(table: Pairs, mut v: c_int, forward: bool) -> (c_int, c_int) {
    let mut out = 0;
    for &(nb, h) in table {
        let (from, to) = if forward { (nb, h) } else { (h, nb) };
        if from != 0 && v & from == from {
            out |= to;
            v &= !from;
        }
    }
    (out, v)
}

// ---- address families ----

/// Families with the same meaning in both systems. NetBSD's `AF_ROUTE` (a routing socket)
/// and `AF_LINK` are not Linux's `AF_ROUTE` (netlink) and `AF_PACKET`.
const FAMILIES: Pairs = &[
    (RUMP_AF_UNSPEC, libc::AF_UNSPEC),
    (RUMP_AF_LOCAL, libc::AF_LOCAL),
    (RUMP_AF_INET, libc::AF_INET),
    (RUMP_AF_INET6, libc::AF_INET6),
    (RUMP_AF_APPLETALK, libc::AF_APPLETALK),
    (RUMP_AF_IPX, libc::AF_IPX),
    (RUMP_AF_BLUETOOTH, libc::AF_BLUETOOTH),
    (RUMP_AF_MPLS, libc::AF_MPLS),
    (RUMP_AF_CAN, libc::AF_CAN),
];

/// A NetBSD address or protocol family in Linux numbers; `None` means `EAFNOSUPPORT`.
pub fn af_to_host(af: c_int) -> Option<c_int> {
    netbsd_to_host(FAMILIES, af)
}

/// A Linux address or protocol family in NetBSD numbers; `None` means `EAFNOSUPPORT`.
pub fn af_to_netbsd(af: c_int) -> Option<c_int> {
    host_to_netbsd(FAMILIES, af)
}

// ---- socket types ----

const SOCK_TYPES: Pairs = &[
    (RUMP_SOCK_STREAM, libc::SOCK_STREAM),
    (RUMP_SOCK_DGRAM, libc::SOCK_DGRAM),
    (RUMP_SOCK_RAW, libc::SOCK_RAW),
    (RUMP_SOCK_RDM, libc::SOCK_RDM),
    (RUMP_SOCK_SEQPACKET, libc::SOCK_SEQPACKET),
    (RUMP_SOCK_CONN_DGRAM, libc::SOCK_DCCP),
];

const SOCK_FLAGS: Pairs = &[
    (RUMP_SOCK_CLOEXEC, libc::SOCK_CLOEXEC),
    (RUMP_SOCK_NONBLOCK, libc::SOCK_NONBLOCK),
];

/// Linux's flag bits of the `type` argument.
const HOST_SOCK_FLAGS: c_int = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;

/// Linux keeps the socket type in the low bits (`SOCK_TYPE_MASK`); the rest are flags.
const HOST_SOCK_TYPE_MASK: c_int = 0xf;

/// A NetBSD `socket(2)` type with its `SOCK_*` flags in Linux numbers; type 0 (flags
/// only, as `paccept`/`accept4` take them) stays 0. `SOCK_NOSIGPIPE` is dropped: a host
/// socket opened for the kernel must be written with `MSG_NOSIGNAL` anyway, since a
/// library may never raise SIGPIPE in its host. `None` (flag bits NetBSD does not define,
/// an unknown type) means `EINVAL`.
pub fn socktype_to_host(ty: c_int) -> Option<c_int> {
    let flags = ty & RUMP_SOCK_FLAGS_MASK;
    let (hflags, rest) = map_bits(SOCK_FLAGS, flags & !RUMP_SOCK_NOSIGPIPE, true);
    let base = match ty & !RUMP_SOCK_FLAGS_MASK {
        0 => 0,
        t => netbsd_to_host(SOCK_TYPES, t)?,
    };
    (rest == 0).then_some(base | hflags)
}

/// A Linux `socket(2)` type with its flags in NetBSD numbers; type 0 (the flags of
/// `accept4`) stays 0. `None` means `EINVAL`, which Linux itself returns for flag bits
/// other than `SOCK_NONBLOCK` and `SOCK_CLOEXEC` and for types it does not know; a type
/// NetBSD lacks (`SOCK_PACKET`) gives `None` too.
pub fn socktype_to_netbsd(ty: c_int) -> Option<c_int> {
    let flags = ty & !HOST_SOCK_TYPE_MASK;
    if flags & !HOST_SOCK_FLAGS != 0 {
        return None;
    }
    let (nflags, _) = map_bits(SOCK_FLAGS, flags, false);
    let base = match ty & HOST_SOCK_TYPE_MASK {
        0 => 0,
        t => host_to_netbsd(SOCK_TYPES, t)?,
    };
    Some(base | nflags)
}

// ---- socket options ----

const SO_OPTS: Pairs = &[
    (RUMP_SO_DEBUG, libc::SO_DEBUG),
    (RUMP_SO_ACCEPTCONN, libc::SO_ACCEPTCONN),
    (RUMP_SO_REUSEADDR, libc::SO_REUSEADDR),
    (RUMP_SO_KEEPALIVE, libc::SO_KEEPALIVE),
    (RUMP_SO_DONTROUTE, libc::SO_DONTROUTE),
    (RUMP_SO_BROADCAST, libc::SO_BROADCAST),
    (RUMP_SO_LINGER, libc::SO_LINGER),
    (RUMP_SO_OOBINLINE, libc::SO_OOBINLINE),
    (RUMP_SO_REUSEPORT, libc::SO_REUSEPORT),
    // Linux's SO_TIMESTAMP (the "old" one on 64-bit) delivers a 64-bit `struct timeval`.
    (RUMP_SO_TIMESTAMP, libc::SO_TIMESTAMP),
    (RUMP_SO_SNDBUF, libc::SO_SNDBUF),
    (RUMP_SO_RCVBUF, libc::SO_RCVBUF),
    (RUMP_SO_SNDLOWAT, libc::SO_SNDLOWAT),
    (RUMP_SO_RCVLOWAT, libc::SO_RCVLOWAT),
    (RUMP_SO_SNDTIMEO, libc::SO_SNDTIMEO),
    (RUMP_SO_RCVTIMEO, libc::SO_RCVTIMEO),
    (RUMP_SO_ERROR, libc::SO_ERROR),
    (RUMP_SO_TYPE, libc::SO_TYPE),
];

const IP_OPTS: Pairs = &[
    (RUMP_IP_OPTIONS, libc::IP_OPTIONS),
    (RUMP_IP_HDRINCL, libc::IP_HDRINCL),
    (RUMP_IP_TOS, libc::IP_TOS),
    (RUMP_IP_TTL, libc::IP_TTL),
    (RUMP_IP_RECVOPTS, libc::IP_RECVOPTS),
    (RUMP_IP_MULTICAST_IF, libc::IP_MULTICAST_IF),
    (RUMP_IP_MULTICAST_TTL, libc::IP_MULTICAST_TTL),
    (RUMP_IP_MULTICAST_LOOP, libc::IP_MULTICAST_LOOP),
    (RUMP_IP_ADD_MEMBERSHIP, libc::IP_ADD_MEMBERSHIP),
    (RUMP_IP_DROP_MEMBERSHIP, libc::IP_DROP_MEMBERSHIP),
    (RUMP_IP_RECVTTL, libc::IP_RECVTTL),
    (RUMP_IP_MINTTL, libc::IP_MINTTL),
    // Linux's IP_PKTINFO option is the boolean "receive pktinfo", NetBSD's IP_RECVPKTINFO;
    // NetBSD's IP_PKTINFO option (a sticky source address) has no Linux option.
    (RUMP_IP_RECVPKTINFO, libc::IP_PKTINFO),
];

const IPV6_OPTS: Pairs = &[
    (RUMP_IPV6_UNICAST_HOPS, libc::IPV6_UNICAST_HOPS),
    (RUMP_IPV6_MULTICAST_IF, libc::IPV6_MULTICAST_IF),
    (RUMP_IPV6_MULTICAST_HOPS, libc::IPV6_MULTICAST_HOPS),
    (RUMP_IPV6_MULTICAST_LOOP, libc::IPV6_MULTICAST_LOOP),
    (RUMP_IPV6_JOIN_GROUP, libc::IPV6_ADD_MEMBERSHIP),
    (RUMP_IPV6_LEAVE_GROUP, libc::IPV6_DROP_MEMBERSHIP),
    (RUMP_IPV6_CHECKSUM, libc::IPV6_CHECKSUM),
    (RUMP_IPV6_V6ONLY, libc::IPV6_V6ONLY),
    (RUMP_IPV6_RTHDRDSTOPTS, libc::IPV6_RTHDRDSTOPTS),
    (RUMP_IPV6_RECVPKTINFO, libc::IPV6_RECVPKTINFO),
    (RUMP_IPV6_RECVHOPLIMIT, libc::IPV6_RECVHOPLIMIT),
    (RUMP_IPV6_RECVRTHDR, libc::IPV6_RECVRTHDR),
    (RUMP_IPV6_RECVHOPOPTS, libc::IPV6_RECVHOPOPTS),
    (RUMP_IPV6_RECVDSTOPTS, libc::IPV6_RECVDSTOPTS),
    (RUMP_IPV6_RECVPATHMTU, libc::IPV6_RECVPATHMTU),
    (RUMP_IPV6_PATHMTU, libc::IPV6_PATHMTU),
    (RUMP_IPV6_PKTINFO, libc::IPV6_PKTINFO),
    (RUMP_IPV6_HOPLIMIT, libc::IPV6_HOPLIMIT),
    (RUMP_IPV6_NEXTHOP, libc::IPV6_NEXTHOP),
    (RUMP_IPV6_HOPOPTS, libc::IPV6_HOPOPTS),
    (RUMP_IPV6_DSTOPTS, libc::IPV6_DSTOPTS),
    (RUMP_IPV6_RTHDR, libc::IPV6_RTHDR),
    (RUMP_IPV6_RECVTCLASS, libc::IPV6_RECVTCLASS),
    (RUMP_IPV6_TCLASS, libc::IPV6_TCLASS),
    (RUMP_IPV6_DONTFRAG, libc::IPV6_DONTFRAG),
];

const TCP_OPTS: Pairs = &[
    (RUMP_TCP_NODELAY, libc::TCP_NODELAY),
    (RUMP_TCP_MAXSEG, libc::TCP_MAXSEG),
    (RUMP_TCP_KEEPIDLE, libc::TCP_KEEPIDLE),
    (RUMP_TCP_KEEPINTVL, libc::TCP_KEEPINTVL),
    (RUMP_TCP_KEEPCNT, libc::TCP_KEEPCNT),
    // Both take the algorithm's name as a string ("reno", "cubic", ...).
    (RUMP_TCP_CONGCTL, libc::TCP_CONGESTION),
];

/// `(NetBSD level, Linux level, names)`.
const LEVELS: &[(c_int, c_int, Pairs)] = &[
    (RUMP_SOL_SOCKET, libc::SOL_SOCKET, SO_OPTS),
    (RUMP_IPPROTO_IP, libc::IPPROTO_IP, IP_OPTS),
    (RUMP_IPPROTO_IPV6, libc::IPPROTO_IPV6, IPV6_OPTS),
    (RUMP_IPPROTO_TCP, libc::IPPROTO_TCP, TCP_OPTS),
    (RUMP_IPPROTO_UDP, libc::IPPROTO_UDP, &[]),
];

/// A NetBSD `setsockopt` level in Linux numbers; `None` means `ENOPROTOOPT`.
pub fn sockopt_level_to_host(level: c_int) -> Option<c_int> {
    LEVELS.iter().find(|l| l.0 == level).map(|l| l.1)
}

/// A Linux `setsockopt` level in NetBSD numbers; `None` means `ENOPROTOOPT`.
pub fn sockopt_level_to_netbsd(level: c_int) -> Option<c_int> {
    LEVELS.iter().find(|l| l.1 == level).map(|l| l.0)
}

/// A NetBSD `(level, name)` in Linux numbers; `None` means `ENOPROTOOPT`.
pub fn sockopt_to_host(level: c_int, name: c_int) -> Option<(c_int, c_int)> {
    let l = LEVELS.iter().find(|l| l.0 == level)?;
    Some((l.1, netbsd_to_host(l.2, name)?))
}

/// A Linux `(level, name)` in NetBSD numbers; `None` means `ENOPROTOOPT`.
pub fn sockopt_to_netbsd(level: c_int, name: c_int) -> Option<(c_int, c_int)> {
    let l = LEVELS.iter().find(|l| l.1 == level)?;
    Some((l.0, host_to_netbsd(l.2, name)?))
}

// ---- socket option values ----

fn ne_i32(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn ne_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_ne_bytes(a)
}

/// `sizeof(struct timeval)` in both ABIs (Linux `{i64, i64}`, NetBSD `{i64, i32, pad}`).
const TIMEVAL_LEN: usize = 16;
const _: () = assert!(std::mem::size_of::<libc::timeval>() == TIMEVAL_LEN);
const _: () = assert!(std::mem::size_of::<rump_timeval>() == TIMEVAL_LEN);

/// `sizeof(struct ip_mreqn)`: Linux also accepts it where NetBSD takes `ip_mreq`.
const IP_MREQN_LEN: usize = std::mem::size_of::<libc::ip_mreqn>();
const IP_MREQ_LEN: usize = std::mem::size_of::<libc::ip_mreq>();

/// The NetBSD `in_addr` naming interface `ifindex`: NetBSD's `ip_multicast_if()` reads an
/// address in 0.0.0.0/8 as an interface index (RFC 1724).
fn ifindex_as_in_addr(ifindex: i32) -> Result<[u8; 4], Errno> {
    if !(0..0x0100_0000).contains(&ifindex) {
        return Err(Errno::EINVAL);
    }
    Ok((ifindex as u32).to_be_bytes())
}

/// The interface part of a Linux `in_addr`, `ip_mreq` or `ip_mreqn`, as NetBSD's `in_addr`.
fn host_mcast_if(v: &[u8], mreq_interface_at: usize) -> Result<[u8; 4], Errno> {
    if v.len() >= IP_MREQN_LEN {
        let ifindex = ne_i32(v, std::mem::offset_of!(libc::ip_mreqn, imr_ifindex));
        if ifindex != 0 {
            return ifindex_as_in_addr(ifindex);
        }
        let at = std::mem::offset_of!(libc::ip_mreqn, imr_address);
        return Ok([v[at], v[at + 1], v[at + 2], v[at + 3]]);
    }
    if v.len() < mreq_interface_at + 4 {
        return Err(Errno::EINVAL);
    }
    let at = mreq_interface_at;
    Ok([v[at], v[at + 1], v[at + 2], v[at + 3]])
}

/// Converts the sockaddr at the start of `v` between layouts, keeping the bytes after it
/// (the MTU of an `ip6_mtuinfo`).
fn convert_sockaddr_prefix(v: &[u8], to_netbsd: bool) -> Result<Vec<u8>, Errno> {
    let (a, src_len) = if to_netbsd {
        let a = sockaddr::from_host(v)?;
        (a, sockaddr::host_len(&a))
    } else {
        let a = sockaddr::from_netbsd(v)?;
        (a, sockaddr::netbsd_len(&a))
    };
    let mut out = if to_netbsd {
        vec![0; sockaddr::netbsd_len(&a)]
    } else {
        vec![0; sockaddr::host_len(&a)]
    };
    if to_netbsd {
        sockaddr::to_netbsd(&a, &mut out);
    } else {
        sockaddr::to_host(&a, &mut out);
    }
    out.extend_from_slice(v.get(src_len..).unwrap_or(&[]));
    Ok(out)
}

/// A Linux option value for NetBSD option `(level, name)` (NetBSD numbers), as NetBSD lays
/// it out: `SO_SNDTIMEO`/`SO_RCVTIMEO` timevals, `IP_MULTICAST_TTL`/`_LOOP` bytes (Linux
/// takes an `int`), `IP_MULTICAST_IF` and the membership requests (Linux also takes an
/// `ip_mreqn`), `IPV6_NEXTHOP` and `IPV6_PATHMTU` sockaddrs, `SO_ERROR` errnos. Every
/// other value has the same bytes in both ABIs and is copied.
///
/// # Errors
/// `EINVAL` for a value too short for its type or out of range; `EDOM` for a timeval
/// whose microseconds do not fit NetBSD's 32-bit `tv_usec`; sockaddr errors as
/// [`sockaddr::from_host`] reports them.
pub fn sockopt_value_to_netbsd(level: c_int, name: c_int, host: &[u8]) -> Result<Vec<u8>, Errno> {
    match (level, name) {
        (RUMP_SOL_SOCKET, RUMP_SO_SNDTIMEO | RUMP_SO_RCVTIMEO) => {
            if host.len() < TIMEVAL_LEN {
                return Err(Errno::EINVAL);
            }
            let sec = ne_i64(host, std::mem::offset_of!(libc::timeval, tv_sec));
            let usec = ne_i64(host, std::mem::offset_of!(libc::timeval, tv_usec));
            let usec = i32::try_from(usec).map_err(|_| Errno::EDOM)?;
            let mut out = vec![0; TIMEVAL_LEN];
            let s = std::mem::offset_of!(rump_timeval, tv_sec);
            let u = std::mem::offset_of!(rump_timeval, tv_usec);
            out[s..s + 8].copy_from_slice(&sec.to_ne_bytes());
            out[u..u + 4].copy_from_slice(&usec.to_ne_bytes());
            Ok(out)
        }
        (RUMP_SOL_SOCKET, RUMP_SO_ERROR) if host.len() >= 4 => {
            // 0 is "no pending error", not an errno.
            let e = match ne_i32(host, 0) {
                0 => 0,
                e => errno_from_host(e).0,
            };
            Ok(e.to_ne_bytes().to_vec())
        }
        (RUMP_IPPROTO_IP, RUMP_IP_MULTICAST_TTL | RUMP_IP_MULTICAST_LOOP) => {
            // Linux takes an int, or a single byte when optlen is shorter than an int.
            let v = match host.len() {
                0 => return Err(Errno::EINVAL),
                1..=3 => i32::from(host[0]),
                _ => ne_i32(host, 0),
            };
            let byte = match (name, v) {
                (RUMP_IP_MULTICAST_LOOP, v) => u8::from(v != 0),
                (_, -1) => RUMP_IP_DEFAULT_MULTICAST_TTL as u8,
                (_, 0..=255) => v as u8,
                _ => return Err(Errno::EINVAL),
            };
            Ok(vec![byte])
        }
        (RUMP_IPPROTO_IP, RUMP_IP_MULTICAST_IF) => {
            let ifaddr = if host.len() >= IP_MREQ_LEN {
                host_mcast_if(host, std::mem::offset_of!(libc::ip_mreq, imr_interface))?
            } else {
                host_mcast_if(host, 0)?
            };
            Ok(ifaddr.to_vec())
        }
        (RUMP_IPPROTO_IP, RUMP_IP_ADD_MEMBERSHIP | RUMP_IP_DROP_MEMBERSHIP) => {
            if host.len() < IP_MREQ_LEN {
                return Err(Errno::EINVAL);
            }
            let group = std::mem::offset_of!(libc::ip_mreq, imr_multiaddr);
            let mut out = host[group..group + 4].to_vec();
            let ifaddr = host_mcast_if(host, std::mem::offset_of!(libc::ip_mreq, imr_interface))?;
            out.extend_from_slice(&ifaddr);
            Ok(out)
        }
        (RUMP_IPPROTO_IPV6, RUMP_IPV6_NEXTHOP | RUMP_IPV6_PATHMTU) => {
            convert_sockaddr_prefix(host, true)
        }
        _ => Ok(host.to_vec()),
    }
}

/// A NetBSD option value for option `(level, name)` (NetBSD numbers), as Linux lays it
/// out; the reverse of [`sockopt_value_to_netbsd`]. `IP_MULTICAST_TTL`/`_LOOP` bytes become
/// `int`s (whose first byte is the value, so a caller that asked for one byte still reads
/// it right on little-endian hosts).
///
/// # Errors
/// `EINVAL` for a timeval shorter than 16 bytes; sockaddr errors as
/// [`sockaddr::from_netbsd`] reports them.
pub fn sockopt_value_to_host(level: c_int, name: c_int, netbsd: &[u8]) -> Result<Vec<u8>, Errno> {
    match (level, name) {
        (RUMP_SOL_SOCKET, RUMP_SO_SNDTIMEO | RUMP_SO_RCVTIMEO) => {
            if netbsd.len() < TIMEVAL_LEN {
                return Err(Errno::EINVAL);
            }
            let sec = ne_i64(netbsd, std::mem::offset_of!(rump_timeval, tv_sec));
            let usec = ne_i32(netbsd, std::mem::offset_of!(rump_timeval, tv_usec));
            let mut out = vec![0; TIMEVAL_LEN];
            let s = std::mem::offset_of!(libc::timeval, tv_sec);
            let u = std::mem::offset_of!(libc::timeval, tv_usec);
            out[s..s + 8].copy_from_slice(&sec.to_ne_bytes());
            out[u..u + 8].copy_from_slice(&i64::from(usec).to_ne_bytes());
            Ok(out)
        }
        (RUMP_SOL_SOCKET, RUMP_SO_ERROR) if netbsd.len() >= 4 => {
            let e = match ne_i32(netbsd, 0) {
                0 => 0,
                e => errno_to_host(Errno(e)),
            };
            Ok(e.to_ne_bytes().to_vec())
        }
        (RUMP_IPPROTO_IP, RUMP_IP_MULTICAST_TTL | RUMP_IP_MULTICAST_LOOP)
            if netbsd.len() < 4 && !netbsd.is_empty() =>
        {
            Ok(c_int::from(netbsd[0]).to_ne_bytes().to_vec())
        }
        (RUMP_IPPROTO_IPV6, RUMP_IPV6_NEXTHOP | RUMP_IPV6_PATHMTU) => {
            convert_sockaddr_prefix(netbsd, false)
        }
        _ => Ok(netbsd.to_vec()),
    }
}

// ---- message flags ----

const MSG_FLAGS: Pairs = &[
    (RUMP_MSG_OOB, libc::MSG_OOB),
    (RUMP_MSG_PEEK, libc::MSG_PEEK),
    (RUMP_MSG_DONTROUTE, libc::MSG_DONTROUTE),
    (RUMP_MSG_EOR, libc::MSG_EOR),
    (RUMP_MSG_TRUNC, libc::MSG_TRUNC),
    (RUMP_MSG_CTRUNC, libc::MSG_CTRUNC),
    (RUMP_MSG_WAITALL, libc::MSG_WAITALL),
    (RUMP_MSG_DONTWAIT, libc::MSG_DONTWAIT),
    (RUMP_MSG_NOSIGNAL, libc::MSG_NOSIGNAL),
    (RUMP_MSG_CMSG_CLOEXEC, libc::MSG_CMSG_CLOEXEC),
    (RUMP_MSG_WAITFORONE, libc::MSG_WAITFORONE),
];

/// Linux hints a kernel may ignore, dropped on the way in.
const MSG_HOST_HINTS: c_int = libc::MSG_MORE | libc::MSG_CONFIRM | libc::MSG_ZEROCOPY;

/// Linux flags asking for something NetBSD cannot do.
const MSG_HOST_UNSUPPORTED: c_int = libc::MSG_ERRQUEUE | libc::MSG_FASTOPEN;

/// NetBSD `MSG_*` flags (arguments, or a returned `msg_flags`) in Linux numbers.
/// `MSG_NBIO` becomes `MSG_DONTWAIT`; `MSG_BCAST`, `MSG_MCAST`, `MSG_NOTIFICATION` and bits
/// NetBSD does not define are dropped (the kernel has validated its own flags; a
/// returned `msg_flags` only loses what Linux cannot say).
pub fn msgflags_to_host(flags: c_int) -> c_int {
    let (out, rest) = map_bits(MSG_FLAGS, flags, true);
    if rest & RUMP_MSG_NBIO != 0 {
        out | libc::MSG_DONTWAIT
    } else {
        out
    }
}

/// Linux `MSG_*` flags in NetBSD numbers. Hints (`MSG_MORE`, `MSG_CONFIRM`,
/// `MSG_ZEROCOPY`) and bits Linux itself would ignore are dropped.
///
/// # Errors
/// `EOPNOTSUPP` for `MSG_ERRQUEUE` and `MSG_FASTOPEN`.
pub fn msgflags_to_netbsd(flags: c_int) -> Result<c_int, Errno> {
    if flags & MSG_HOST_UNSUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (out, _dropped) = map_bits(MSG_FLAGS, flags & !MSG_HOST_HINTS, false);
    Ok(out)
}

// ---- shutdown(2) ----

const SHUTDOWN_HOW: Pairs = &[
    (RUMP_SHUT_RD, libc::SHUT_RD),
    (RUMP_SHUT_WR, libc::SHUT_WR),
    (RUMP_SHUT_RDWR, libc::SHUT_RDWR),
];

/// A NetBSD `shutdown(2)` `how` in Linux numbers; `None` means `EINVAL`.
pub fn shutdown_how_to_host(how: c_int) -> Option<c_int> {
    netbsd_to_host(SHUTDOWN_HOW, how)
}

/// A Linux `shutdown(2)` `how` in NetBSD numbers; `None` means `EINVAL`.
pub fn shutdown_how_to_netbsd(how: c_int) -> Option<c_int> {
    host_to_netbsd(SHUTDOWN_HOW, how)
}

// ---- fcntl(2) ----

/// Commands; the lock commands translate, their `struct flock` does not (sockets hold no
/// locks).
const FCNTL_CMDS: Pairs = &[
    (RUMP_F_DUPFD, libc::F_DUPFD),
    (RUMP_F_GETFD, libc::F_GETFD),
    (RUMP_F_SETFD, libc::F_SETFD),
    (RUMP_F_GETFL, libc::F_GETFL),
    (RUMP_F_SETFL, libc::F_SETFL),
    (RUMP_F_GETOWN, libc::F_GETOWN),
    (RUMP_F_SETOWN, libc::F_SETOWN),
    (RUMP_F_GETLK, libc::F_GETLK),
    (RUMP_F_SETLK, libc::F_SETLK),
    (RUMP_F_SETLKW, libc::F_SETLKW),
    (RUMP_F_DUPFD_CLOEXEC, libc::F_DUPFD_CLOEXEC),
];

/// A NetBSD `fcntl(2)` command in Linux numbers; `None` (`F_CLOSEM`, `F_MAXFD`) means
/// `EINVAL`.
pub fn fcntl_cmd_to_host(cmd: c_int) -> Option<c_int> {
    netbsd_to_host(FCNTL_CMDS, cmd)
}

/// A Linux `fcntl(2)` command in NetBSD numbers; `None` means `EINVAL`.
pub fn fcntl_cmd_to_netbsd(cmd: c_int) -> Option<c_int> {
    host_to_netbsd(FCNTL_CMDS, cmd)
}

/// `O_*` bits both systems define, `O_SYNC` before `O_DSYNC` (Linux's `O_SYNC` contains
/// the `O_DSYNC` bit). The access mode (`O_ACCMODE`, 0..=2) is the same in both.
const O_FLAGS: Pairs = &[
    (RUMP_O_NONBLOCK, libc::O_NONBLOCK),
    (RUMP_O_APPEND, libc::O_APPEND),
    (RUMP_O_ASYNC, libc::O_ASYNC),
    (RUMP_O_SYNC, libc::O_SYNC),
    (RUMP_O_DSYNC, libc::O_DSYNC),
    (RUMP_O_DIRECT, libc::O_DIRECT),
    (RUMP_O_NOFOLLOW, libc::O_NOFOLLOW),
    (RUMP_O_CREAT, libc::O_CREAT),
    (RUMP_O_TRUNC, libc::O_TRUNC),
    (RUMP_O_EXCL, libc::O_EXCL),
    (RUMP_O_NOCTTY, libc::O_NOCTTY),
    (RUMP_O_DIRECTORY, libc::O_DIRECTORY),
    (RUMP_O_CLOEXEC, libc::O_CLOEXEC),
];

const _: () = assert!(RUMP_O_ACCMODE == libc::O_ACCMODE && RUMP_O_RDWR == libc::O_RDWR);

/// NetBSD `O_*` flags (`F_GETFL`, `F_SETFL`, `open`) in Linux numbers; NetBSD-only bits
/// (`O_SHLOCK`, `O_EXLOCK`, `O_RSYNC`, `O_ALT_IO`) are dropped.
pub fn oflags_to_host(flags: c_int) -> c_int {
    (flags & RUMP_O_ACCMODE) | map_bits(O_FLAGS, flags & !RUMP_O_ACCMODE, true).0
}

/// Linux `O_*` flags in NetBSD numbers; Linux-only bits (`O_LARGEFILE`, `O_NOATIME`,
/// `O_PATH`, ...) are dropped, as Linux's `F_SETFL` ignores bits it cannot change.
pub fn oflags_to_netbsd(flags: c_int) -> c_int {
    (flags & libc::O_ACCMODE) | map_bits(O_FLAGS, flags & !libc::O_ACCMODE, false).0
}

/// NetBSD `F_GETFD`/`F_SETFD` flags in Linux numbers (only `FD_CLOEXEC` exists).
pub fn fd_flags_to_host(flags: c_int) -> c_int {
    if flags & RUMP_FD_CLOEXEC != 0 {
        libc::FD_CLOEXEC
    } else {
        0
    }
}

/// Linux `F_GETFD`/`F_SETFD` flags in NetBSD numbers.
pub fn fd_flags_to_netbsd(flags: c_int) -> c_int {
    if flags & libc::FD_CLOEXEC != 0 {
        RUMP_FD_CLOEXEC
    } else {
        0
    }
}

// ---- poll(2) ----

/// Event bits. NetBSD's `POLLWRNORM` is `POLLOUT`; Linux's is a bit of its own, and
/// Linux's socket poll reports both, so `POLLOUT` goes out as both.
const POLL_BITS: &[(c_short, c_short)] = &[
    (RUMP_POLLIN, libc::POLLIN),
    (RUMP_POLLPRI, libc::POLLPRI),
    (RUMP_POLLOUT, libc::POLLOUT | libc::POLLWRNORM),
    (RUMP_POLLERR, libc::POLLERR),
    (RUMP_POLLHUP, libc::POLLHUP),
    (RUMP_POLLNVAL, libc::POLLNVAL),
    (RUMP_POLLRDNORM, libc::POLLRDNORM),
    (RUMP_POLLRDBAND, libc::POLLRDBAND),
    (RUMP_POLLWRBAND, libc::POLLWRBAND),
];

/// NetBSD poll event bits in Linux numbers.
pub fn poll_to_host(ev: c_short) -> c_short {
    POLL_BITS
        .iter()
        .filter(|(nb, _)| ev & nb != 0)
        .fold(0, |acc, (_, h)| acc | h)
}

/// Linux poll event bits in NetBSD numbers; `POLLRDHUP`, `POLLMSG` and other Linux-only
/// bits are dropped.
pub fn poll_to_netbsd(ev: c_short) -> c_short {
    POLL_BITS
        .iter()
        .filter(|(_, h)| ev & h != 0)
        .fold(0, |acc, (nb, _)| acc | nb)
}

/// NetBSD `revents` for a Linux caller that asked for `host_events`: translated, and
/// limited to what was asked plus `POLLERR`, `POLLHUP` and `POLLNVAL`, as Linux reports.
pub fn poll_revents_to_host(revents: c_short, host_events: c_short) -> c_short {
    poll_to_host(revents) & (host_events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL)
}

// ---- ioctl(2) ----

/// Linux socket ioctls from `<asm-generic/sockios.h>` that `libc` does not define.
const LINUX_FIOSETOWN: u64 = 0x8901;
const LINUX_SIOCSPGRP: u64 = 0x8902;
const LINUX_FIOGETOWN: u64 = 0x8903;
const LINUX_SIOCGPGRP: u64 = 0x8904;
const LINUX_SIOCATMARK: u64 = 0x8905;

/// Requests whose argument is an `int` (or nothing) with the same meaning in both ABIs
/// (`as u64`: `libc::Ioctl` is `c_ulong` with glibc but `c_int` with musl).
/// Interface ioctls (`SIOC[GS]IF*`) are not here: their `struct ifreq` differs (NetBSD
/// 144 bytes with `sa_len`, Linux 40 bytes), so they need a struct translation too.
#[allow(clippy::unnecessary_cast)]
const IOCTLS: &[(u64, u64)] = &[
    (RUMP_FIONBIO, libc::FIONBIO as u64),
    (RUMP_FIONREAD, libc::FIONREAD as u64),
    (RUMP_FIOASYNC, libc::FIOASYNC as u64),
    (RUMP_FIOCLEX, libc::FIOCLEX as u64),
    (RUMP_FIONCLEX, libc::FIONCLEX as u64),
    // Bytes not yet acknowledged or sent: NetBSD's FIONWRITE is Linux's SIOCOUTQ.
    (RUMP_FIONWRITE, libc::TIOCOUTQ as u64),
    (RUMP_FIOSETOWN, LINUX_FIOSETOWN),
    (RUMP_FIOGETOWN, LINUX_FIOGETOWN),
    (RUMP_SIOCSPGRP, LINUX_SIOCSPGRP),
    (RUMP_SIOCGPGRP, LINUX_SIOCGPGRP),
    (RUMP_SIOCATMARK, LINUX_SIOCATMARK),
];

/// A NetBSD ioctl request in Linux numbers; `None` means `ENOTTY`.
pub fn ioctl_to_host(req: u64) -> Option<u64> {
    IOCTLS.iter().find(|(nb, _)| *nb == req).map(|(_, h)| *h)
}

/// A Linux ioctl request in NetBSD numbers; `None` means `ENOTTY`.
pub fn ioctl_to_netbsd(req: u64) -> Option<u64> {
    IOCTLS.iter().find(|(_, h)| *h == req).map(|(nb, _)| *nb)
}

// ---- errno ----

/// Errnos both systems have. `EOPNOTSUPP` comes before `ENOTSUP` (both are 95 on Linux),
/// so Linux's 95 reads back as `EOPNOTSUPP`.
const ERRNOS: &[(Errno, c_int)] = &[
    (Errno::EPERM, libc::EPERM),
    (Errno::ENOENT, libc::ENOENT),
    (Errno::ESRCH, libc::ESRCH),
    (Errno::EINTR, libc::EINTR),
    (Errno::EIO, libc::EIO),
    (Errno::ENXIO, libc::ENXIO),
    (Errno::E2BIG, libc::E2BIG),
    (Errno::ENOEXEC, libc::ENOEXEC),
    (Errno::EBADF, libc::EBADF),
    (Errno::ECHILD, libc::ECHILD),
    (Errno::EDEADLK, libc::EDEADLK),
    (Errno::ENOMEM, libc::ENOMEM),
    (Errno::EACCES, libc::EACCES),
    (Errno::EFAULT, libc::EFAULT),
    (Errno::ENOTBLK, libc::ENOTBLK),
    (Errno::EBUSY, libc::EBUSY),
    (Errno::EEXIST, libc::EEXIST),
    (Errno::EXDEV, libc::EXDEV),
    (Errno::ENODEV, libc::ENODEV),
    (Errno::ENOTDIR, libc::ENOTDIR),
    (Errno::EISDIR, libc::EISDIR),
    (Errno::EINVAL, libc::EINVAL),
    (Errno::ENFILE, libc::ENFILE),
    (Errno::EMFILE, libc::EMFILE),
    (Errno::ENOTTY, libc::ENOTTY),
    (Errno::ETXTBSY, libc::ETXTBSY),
    (Errno::EFBIG, libc::EFBIG),
    (Errno::ENOSPC, libc::ENOSPC),
    (Errno::ESPIPE, libc::ESPIPE),
    (Errno::EROFS, libc::EROFS),
    (Errno::EMLINK, libc::EMLINK),
    (Errno::EPIPE, libc::EPIPE),
    (Errno::EDOM, libc::EDOM),
    (Errno::ERANGE, libc::ERANGE),
    (Errno::EAGAIN, libc::EAGAIN),
    (Errno::EINPROGRESS, libc::EINPROGRESS),
    (Errno::EALREADY, libc::EALREADY),
    (Errno::ENOTSOCK, libc::ENOTSOCK),
    (Errno::EDESTADDRREQ, libc::EDESTADDRREQ),
    (Errno::EMSGSIZE, libc::EMSGSIZE),
    (Errno::EPROTOTYPE, libc::EPROTOTYPE),
    (Errno::ENOPROTOOPT, libc::ENOPROTOOPT),
    (Errno::EPROTONOSUPPORT, libc::EPROTONOSUPPORT),
    (Errno::ESOCKTNOSUPPORT, libc::ESOCKTNOSUPPORT),
    (Errno::EOPNOTSUPP, libc::EOPNOTSUPP),
    (Errno::EPFNOSUPPORT, libc::EPFNOSUPPORT),
    (Errno::EAFNOSUPPORT, libc::EAFNOSUPPORT),
    (Errno::EADDRINUSE, libc::EADDRINUSE),
    (Errno::EADDRNOTAVAIL, libc::EADDRNOTAVAIL),
    (Errno::ENETDOWN, libc::ENETDOWN),
    (Errno::ENETUNREACH, libc::ENETUNREACH),
    (Errno::ENETRESET, libc::ENETRESET),
    (Errno::ECONNABORTED, libc::ECONNABORTED),
    (Errno::ECONNRESET, libc::ECONNRESET),
    (Errno::ENOBUFS, libc::ENOBUFS),
    (Errno::EISCONN, libc::EISCONN),
    (Errno::ENOTCONN, libc::ENOTCONN),
    (Errno::ESHUTDOWN, libc::ESHUTDOWN),
    (Errno::ETOOMANYREFS, libc::ETOOMANYREFS),
    (Errno::ETIMEDOUT, libc::ETIMEDOUT),
    (Errno::ECONNREFUSED, libc::ECONNREFUSED),
    (Errno::ELOOP, libc::ELOOP),
    (Errno::ENAMETOOLONG, libc::ENAMETOOLONG),
    (Errno::EHOSTDOWN, libc::EHOSTDOWN),
    (Errno::EHOSTUNREACH, libc::EHOSTUNREACH),
    (Errno::ENOTEMPTY, libc::ENOTEMPTY),
    (Errno::EUSERS, libc::EUSERS),
    (Errno::EDQUOT, libc::EDQUOT),
    (Errno::ESTALE, libc::ESTALE),
    (Errno::EREMOTE, libc::EREMOTE),
    (Errno::ENOLCK, libc::ENOLCK),
    (Errno::ENOSYS, libc::ENOSYS),
    (Errno::EIDRM, libc::EIDRM),
    (Errno::ENOMSG, libc::ENOMSG),
    (Errno::EOVERFLOW, libc::EOVERFLOW),
    (Errno::EILSEQ, libc::EILSEQ),
    (Errno::ENOTSUP, libc::ENOTSUP),
    (Errno::ECANCELED, libc::ECANCELED),
    (Errno::EBADMSG, libc::EBADMSG),
    (Errno::ENODATA, libc::ENODATA),
    (Errno::ENOSR, libc::ENOSR),
    (Errno::ENOSTR, libc::ENOSTR),
    (Errno::ETIME, libc::ETIME),
    (Errno::EMULTIHOP, libc::EMULTIHOP),
    (Errno::ENOLINK, libc::ENOLINK),
    (Errno::EPROTO, libc::EPROTO),
    (Errno::EOWNERDEAD, libc::EOWNERDEAD),
    (Errno::ENOTRECOVERABLE, libc::ENOTRECOVERABLE),
];

/// NetBSD-only errnos and the Linux errno a Linux program understands best for each.
const ERRNOS_NETBSD_ONLY: &[(Errno, c_int)] = &[
    // fork(2) over the process limit: Linux says EAGAIN.
    (Errno::EPROCLIM, libc::EAGAIN),
    // Sun RPC failures are I/O errors to the caller.
    (Errno::EBADRPC, libc::EIO),
    (Errno::ERPCMISMATCH, libc::EIO),
    (Errno::EPROGUNAVAIL, libc::EIO),
    (Errno::EPROGMISMATCH, libc::EIO),
    (Errno::EPROCUNAVAIL, libc::EIO),
    (Errno::EFTYPE, libc::EINVAL),
    (Errno::EAUTH, libc::EACCES),
    (Errno::ENEEDAUTH, libc::EACCES),
    // Linux reports a missing extended attribute as ENODATA.
    (Errno::ENOATTR, libc::ENODATA),
];

/// Linux-only errnos with a close NetBSD meaning; every other Linux-only errno is EIO.
const ERRNOS_HOST_ONLY: &[(Errno, c_int)] = &[
    (Errno::EBADF, libc::EBADFD),
    (Errno::EINTR, libc::ERESTART),
    (Errno::ENETDOWN, libc::ENONET),
    (Errno::ENETDOWN, libc::ERFKILL),
    (Errno::ENXIO, libc::ENOMEDIUM),
];

/// A NetBSD errno in Linux numbers: the same error where Linux has it (NetBSD `ENOTSUP`
/// becomes Linux's `ENOTSUP`, which is `EOPNOTSUPP`), else the nearest one from
/// `ERRNOS_NETBSD_ONLY`, else `EIO`.
pub fn errno_to_host(e: Errno) -> c_int {
    ERRNOS
        .iter()
        .chain(ERRNOS_NETBSD_ONLY)
        .find(|(nb, _)| *nb == e)
        .map_or(libc::EIO, |(_, h)| *h)
}

/// A Linux errno in NetBSD numbers: the same error where NetBSD has it (Linux 95 is
/// `EOPNOTSUPP`), a close one for the few in `ERRNOS_HOST_ONLY`, else `EIO` (also for 0
/// and negative values, which are not errors).
pub fn errno_from_host(e: c_int) -> Errno {
    ERRNOS
        .iter()
        .chain(ERRNOS_HOST_ONLY)
        .find(|(_, h)| *h == e)
        .map_or(Errno::EIO, |(nb, _)| *nb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// `(name, value)` of the `pub const RUMP_<prefix>...` lines of netbsd.rs whose value
    /// is a literal (aliases of other constants are skipped: they are checked through
    /// their target).
    fn declared(prefix: &str) -> Vec<(String, i64)> {
        let head = format!("pub const RUMP_{prefix}");
        include_str!("netbsd.rs")
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(&head)?;
                let (name, tail) = rest.split_once(':')?;
                let lit = tail.split_once(" = ")?.1.strip_suffix(';')?;
                let value = if let Some(hex) = lit.strip_prefix("0x") {
                    i64::from_str_radix(&hex.replace('_', ""), 16).ok()?
                } else if let Some(neg) = lit.strip_prefix('-') {
                    -neg.parse::<i64>().ok()?
                } else {
                    lit.parse().ok()?
                };
                Some((format!("{prefix}{name}"), value))
            })
            .collect()
    }

    fn assert_one_to_one<T: Copy + Eq + std::hash::Hash + std::fmt::Debug>(
        what: &str,
        pairs: impl Iterator<Item = (T, T)>,
    ) {
        let (mut a, mut b) = (HashSet::new(), HashSet::new());
        for (x, y) in pairs {
            assert!(a.insert(x), "{what}: NetBSD {x:?} twice");
            assert!(b.insert(y), "{what}: host {y:?} twice");
        }
    }

    #[test]
    fn tables_are_one_to_one() {
        assert_one_to_one("families", FAMILIES.iter().copied());
        assert_one_to_one("socket types", SOCK_TYPES.iter().copied());
        assert_one_to_one("levels", LEVELS.iter().map(|l| (l.0, l.1)));
        for l in LEVELS {
            assert_one_to_one("options", l.2.iter().copied());
        }
        assert_one_to_one("msg flags", MSG_FLAGS.iter().copied());
        assert_one_to_one("shutdown", SHUTDOWN_HOW.iter().copied());
        assert_one_to_one("fcntl", FCNTL_CMDS.iter().copied());
        assert_one_to_one("oflags", O_FLAGS.iter().copied());
        assert_one_to_one("poll", POLL_BITS.iter().copied());
        assert_one_to_one("ioctl", IOCTLS.iter().copied());
        // ERRNOS maps two NetBSD errnos onto Linux 95 on purpose; all else is 1:1.
        assert_one_to_one(
            "errno",
            ERRNOS
                .iter()
                .filter(|(e, _)| *e != Errno::ENOTSUP)
                .map(|(e, h)| (e.0, *h)),
        );
    }

    /// Checks that every literal `RUMP_<prefix>*` constant either round-trips through
    /// `to`/`from` or is listed in `none` as having no Linux counterpart.
    fn check_category(
        prefix: &str,
        none: &[&str],
        skip: &[&str],
        to: impl Fn(i64) -> Option<i64>,
        from: impl Fn(i64) -> Option<i64>,
    ) {
        let consts = declared(prefix);
        assert!(!consts.is_empty(), "no RUMP_{prefix} constants");
        for (name, v) in consts {
            if skip.contains(&name.as_str()) {
                continue;
            }
            let host = to(v);
            if none.contains(&name.as_str()) {
                assert_eq!(
                    host, None,
                    "RUMP_{name} is listed as having no Linux counterpart"
                );
                continue;
            }
            let host = host.unwrap_or_else(|| panic!("RUMP_{name} ({v:#x}) does not translate"));
            assert_eq!(from(host), Some(v), "RUMP_{name} -> {host:#x} -> back");
        }
    }

    #[test]
    fn families_round_trip() {
        check_category(
            "AF_",
            &[
                "AF_IMPLINK",
                "AF_OROUTE",
                "AF_LINK",
                "AF_ARP",
                "AF_IEEE80211",
                "AF_ROUTE",
            ],
            &["AF_ETHER", "AF_MAX"],
            |v| af_to_host(v as c_int).map(i64::from),
            |h| af_to_netbsd(h as c_int).map(i64::from),
        );
        assert_eq!(af_to_host(RUMP_AF_INET6), Some(libc::AF_INET6));
        assert_eq!(af_to_netbsd(libc::AF_NETLINK), None);
        assert_eq!(af_to_host(RUMP_AF_ETHER), None);
    }

    #[test]
    fn socket_types_round_trip() {
        // Flags are checked on a stream socket and compared without the type.
        let is_flag = |v: c_int| v & RUMP_SOCK_FLAGS_MASK != 0;
        check_category(
            "SOCK_",
            &["SOCK_NOSIGPIPE"],
            &["SOCK_FLAGS_MASK"],
            |v| {
                let v = v as c_int;
                let h = socktype_to_host(v)?;
                (!is_flag(v) || h != 0).then_some(i64::from(h))
            },
            |h| socktype_to_netbsd(h as c_int).map(i64::from),
        );
        let t = RUMP_SOCK_STREAM | RUMP_SOCK_NONBLOCK | RUMP_SOCK_CLOEXEC;
        let h = socktype_to_host(t).unwrap();
        assert_eq!(
            h,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
        );
        assert_eq!(socktype_to_netbsd(h), Some(t));
        let dgram = socktype_to_host(RUMP_SOCK_DGRAM | RUMP_SOCK_NOSIGPIPE);
        assert_eq!(dgram, Some(libc::SOCK_DGRAM));
        assert_eq!(socktype_to_host(RUMP_SOCK_DGRAM | i32::MIN), None);
        assert_eq!(socktype_to_host(RUMP_SOCK_DGRAM | 0x0100_0000), None);
        assert_eq!(socktype_to_host(9), None);
        assert_eq!(socktype_to_netbsd(libc::SOCK_STREAM | 0x100), None);
        // accept4's flags alone.
        let accept4 = socktype_to_netbsd(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
        assert_eq!(accept4, Some(RUMP_SOCK_NONBLOCK | RUMP_SOCK_CLOEXEC));
        assert_eq!(socktype_to_netbsd(0), Some(0));
        #[allow(deprecated)] // SOCK_PACKET is obsolete on Linux, still a valid type there
        let packet = libc::SOCK_PACKET;
        assert_eq!(socktype_to_netbsd(packet), None);
    }

    fn check_options(prefix: &str, level: c_int, none: &[&str], skip: &[&str]) {
        check_category(
            prefix,
            none,
            skip,
            |v| sockopt_to_host(level, v as c_int).map(|(_, n)| i64::from(n)),
            |h| {
                let host_level = sockopt_level_to_host(level).unwrap();
                sockopt_to_netbsd(host_level, h as c_int).map(|(l, n)| {
                    assert_eq!(l, level);
                    i64::from(n)
                })
            },
        );
    }

    #[test]
    fn socket_options_round_trip() {
        check_options(
            "SO_",
            RUMP_SOL_SOCKET,
            &[
                "SO_USELOOPBACK",
                "SO_NOSIGPIPE",
                "SO_ACCEPTFILTER",
                "SO_RERROR",
                "SO_OVERFLOWED",
                "SO_NOHEADER",
            ],
            &[],
        );
        check_options(
            "IP_",
            RUMP_IPPROTO_IP,
            &[
                "IP_RECVRETOPTS",
                "IP_RECVDSTADDR",
                "IP_RETOPTS",
                "IP_PORTALGO",
                "IP_PORTRANGE",
                "IP_RECVIF",
                "IP_ERRORMTU",
                "IP_IPSEC_POLICY",
                "IP_PKTINFO",
                "IP_BINDANY",
            ],
            &[
                "IP_DEFAULT_MULTICAST_TTL",
                "IP_DEFAULT_MULTICAST_LOOP",
                "IP_MAX_MEMBERSHIPS",
                "IP_PORTRANGE_DEFAULT",
                "IP_PORTRANGE_HIGH",
                "IP_PORTRANGE_LOW",
            ],
        );
        check_options(
            "IPV6_",
            RUMP_IPPROTO_IPV6,
            &[
                "IPV6_PORTRANGE",
                "IPV6_IPSEC_POLICY",
                "IPV6_FAITH",
                "IPV6_USE_MIN_MTU",
            ],
            &[
                "IPV6_DEFAULT_MULTICAST_HOPS",
                "IPV6_DEFAULT_MULTICAST_LOOP",
                "IPV6_PORTRANGE_DEFAULT",
                "IPV6_PORTRANGE_HIGH",
                "IPV6_PORTRANGE_LOW",
            ],
        );
        check_options(
            "TCP_",
            RUMP_IPPROTO_TCP,
            &["TCP_NOPUSH", "TCP_KEEPINIT", "TCP_INFO", "TCP_MD5SIG"],
            // Not options: the statistics' count and indices (tcp_var.h).
            &[
                "TCP_NSTATS",
                "TCP_STAT_CONNATTEMPT",
                "TCP_STAT_ACCEPTS",
                "TCP_STAT_CONNECTS",
                "TCP_STAT_REXMTTIMEO",
                "TCP_STAT_SNDTOTAL",
                "TCP_STAT_SNDREXMITPACK",
                "TCP_STAT_RCVTOTAL",
                "TCP_STAT_RCVBADSUM",
            ],
        );
        assert_eq!(
            sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_REUSEADDR),
            Some((RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR))
        );
        assert_eq!(sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_PRIORITY), None);
        assert_eq!(sockopt_to_host(0x1234, RUMP_SO_DEBUG), None);
        assert_eq!(
            sockopt_level_to_host(RUMP_IPPROTO_UDP),
            Some(libc::IPPROTO_UDP)
        );
        assert_eq!(
            sockopt_level_to_netbsd(libc::SOL_SOCKET),
            Some(RUMP_SOL_SOCKET)
        );
        assert_eq!(sockopt_level_to_netbsd(libc::SOL_PACKET), None);
    }

    fn host_timeval(sec: i64, usec: i64) -> Vec<u8> {
        let mut v = sec.to_ne_bytes().to_vec();
        v.extend_from_slice(&usec.to_ne_bytes());
        v
    }

    #[test]
    fn timeval_values() {
        for name in [RUMP_SO_SNDTIMEO, RUMP_SO_RCVTIMEO] {
            let h = host_timeval(3, 250_000);
            let nb = sockopt_value_to_netbsd(RUMP_SOL_SOCKET, name, &h).unwrap();
            assert_eq!(nb.len(), 16);
            assert_eq!(&nb[..8], &3i64.to_ne_bytes());
            assert_eq!(&nb[8..12], &250_000i32.to_ne_bytes());
            assert_eq!(&nb[12..], &[0; 4]);
            assert_eq!(
                sockopt_value_to_host(RUMP_SOL_SOCKET, name, &nb).unwrap(),
                h
            );
            assert_eq!(
                sockopt_value_to_netbsd(RUMP_SOL_SOCKET, name, &h[..15]),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                sockopt_value_to_host(RUMP_SOL_SOCKET, name, &nb[..12]),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                sockopt_value_to_netbsd(RUMP_SOL_SOCKET, name, &host_timeval(0, 1 << 40)),
                Err(Errno::EDOM)
            );
        }
    }

    #[test]
    fn plain_values_are_copied() {
        let one = 1i32.to_ne_bytes();
        let linger = [1, 0, 0, 0, 5, 0, 0, 0];
        for (level, name, v) in [
            (RUMP_SOL_SOCKET, RUMP_SO_REUSEADDR, &one[..]),
            (RUMP_SOL_SOCKET, RUMP_SO_LINGER, &linger[..]),
            (RUMP_IPPROTO_TCP, RUMP_TCP_NODELAY, &one[..]),
            (RUMP_IPPROTO_TCP, RUMP_TCP_CONGCTL, b"cubic\0"),
            (RUMP_IPPROTO_IPV6, RUMP_IPV6_V6ONLY, &one[..]),
        ] {
            assert_eq!(sockopt_value_to_netbsd(level, name, v).unwrap(), v);
            assert_eq!(sockopt_value_to_host(level, name, v).unwrap(), v);
        }
    }

    #[test]
    fn so_error_values_are_errnos() {
        let h = libc::ECONNREFUSED.to_ne_bytes();
        let nb = sockopt_value_to_netbsd(RUMP_SOL_SOCKET, RUMP_SO_ERROR, &h).unwrap();
        assert_eq!(nb, RUMP_ECONNREFUSED.to_ne_bytes());
        assert_eq!(
            sockopt_value_to_host(RUMP_SOL_SOCKET, RUMP_SO_ERROR, &nb).unwrap(),
            h
        );
        let zero = 0i32.to_ne_bytes();
        // 0 means "no error" and must stay 0.
        assert_eq!(
            sockopt_value_to_host(RUMP_SOL_SOCKET, RUMP_SO_ERROR, &zero).unwrap(),
            zero,
        );
    }

    #[test]
    fn multicast_values() {
        let ttl = RUMP_IP_MULTICAST_TTL;
        let ip = RUMP_IPPROTO_IP;
        assert_eq!(
            sockopt_value_to_netbsd(ip, ttl, &64i32.to_ne_bytes()),
            Ok(vec![64])
        );
        assert_eq!(sockopt_value_to_netbsd(ip, ttl, &[7]), Ok(vec![7]));
        assert_eq!(
            sockopt_value_to_netbsd(ip, ttl, &(-1i32).to_ne_bytes()),
            Ok(vec![1])
        );
        assert_eq!(
            sockopt_value_to_netbsd(ip, ttl, &256i32.to_ne_bytes()),
            Err(Errno::EINVAL)
        );
        assert_eq!(sockopt_value_to_netbsd(ip, ttl, &[]), Err(Errno::EINVAL));
        let lp = RUMP_IP_MULTICAST_LOOP;
        assert_eq!(
            sockopt_value_to_netbsd(ip, lp, &5i32.to_ne_bytes()),
            Ok(vec![1])
        );
        assert_eq!(
            sockopt_value_to_host(ip, ttl, &[9]),
            Ok(9i32.to_ne_bytes().to_vec())
        );

        // IP_MULTICAST_IF: in_addr, ip_mreq, ip_mreqn (by address, by index).
        let mif = RUMP_IP_MULTICAST_IF;
        let addr = [10, 0, 0, 1];
        assert_eq!(sockopt_value_to_netbsd(ip, mif, &addr), Ok(addr.to_vec()));
        let mreq = [224, 0, 0, 1, 10, 0, 0, 1];
        assert_eq!(sockopt_value_to_netbsd(ip, mif, &mreq), Ok(addr.to_vec()));
        let mut mreqn = mreq.to_vec();
        mreqn.extend_from_slice(&0i32.to_ne_bytes());
        assert_eq!(sockopt_value_to_netbsd(ip, mif, &mreqn), Ok(addr.to_vec()));
        mreqn[8..].copy_from_slice(&3i32.to_ne_bytes());
        assert_eq!(
            sockopt_value_to_netbsd(ip, mif, &mreqn),
            Ok(vec![0, 0, 0, 3])
        );
        assert_eq!(
            sockopt_value_to_netbsd(ip, mif, &[1, 2]),
            Err(Errno::EINVAL)
        );

        let add = RUMP_IP_ADD_MEMBERSHIP;
        assert_eq!(sockopt_value_to_netbsd(ip, add, &mreq), Ok(mreq.to_vec()));
        assert_eq!(
            sockopt_value_to_netbsd(ip, add, &mreqn),
            Ok(vec![224, 0, 0, 1, 0, 0, 0, 3])
        );
        assert_eq!(
            sockopt_value_to_netbsd(ip, add, &mreq[..7]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn sockaddr_values() {
        use crate::kern::sockaddr::SockAddr;
        let a = SockAddr::Inet("[fe80::1%2]:0".parse().unwrap());
        let mut h = [0u8; 28];
        sockaddr::to_host(&a, &mut h);
        let nb = sockopt_value_to_netbsd(RUMP_IPPROTO_IPV6, RUMP_IPV6_NEXTHOP, &h).unwrap();
        assert_eq!(sockaddr::from_netbsd(&nb), Ok(a));
        assert_eq!(
            sockopt_value_to_host(RUMP_IPPROTO_IPV6, RUMP_IPV6_NEXTHOP, &nb).unwrap(),
            h.to_vec()
        );
        // ip6_mtuinfo: the sockaddr converts, the MTU after it stays.
        let mut mtuinfo = nb.clone();
        mtuinfo.extend_from_slice(&1280u32.to_ne_bytes());
        let out = sockopt_value_to_host(RUMP_IPPROTO_IPV6, RUMP_IPV6_PATHMTU, &mtuinfo).unwrap();
        assert_eq!(&out[..28], &h);
        assert_eq!(&out[28..], &1280u32.to_ne_bytes());
        assert_eq!(
            sockopt_value_to_netbsd(RUMP_IPPROTO_IPV6, RUMP_IPV6_NEXTHOP, &[1]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn msg_flags_round_trip() {
        check_category(
            "MSG_",
            &["MSG_BCAST", "MSG_MCAST", "MSG_NBIO", "MSG_NOTIFICATION"],
            &["MSG_USERFLAGS"],
            |v| {
                let h = msgflags_to_host(v as c_int);
                (h != 0 && v as c_int != RUMP_MSG_NBIO).then_some(i64::from(h))
            },
            |h| msgflags_to_netbsd(h as c_int).ok().map(i64::from),
        );
        assert_eq!(msgflags_to_host(RUMP_MSG_NBIO), libc::MSG_DONTWAIT);
        assert_eq!(
            msgflags_to_host(RUMP_MSG_BCAST | RUMP_MSG_TRUNC),
            libc::MSG_TRUNC
        );
        assert_eq!(msgflags_to_host(0x0100_0000), 0);
        assert_eq!(
            msgflags_to_netbsd(libc::MSG_MORE | libc::MSG_NOSIGNAL),
            Ok(RUMP_MSG_NOSIGNAL)
        );
        assert_eq!(
            msgflags_to_netbsd(libc::MSG_ERRQUEUE),
            Err(Errno::EOPNOTSUPP)
        );
        let all = MSG_FLAGS.iter().fold(0, |a, (nb, _)| a | nb);
        assert_eq!(msgflags_to_netbsd(msgflags_to_host(all)), Ok(all));
    }

    #[test]
    fn shutdown_round_trips() {
        check_category(
            "SHUT_",
            &[],
            &[],
            |v| shutdown_how_to_host(v as c_int).map(i64::from),
            |h| shutdown_how_to_netbsd(h as c_int).map(i64::from),
        );
        assert_eq!(shutdown_how_to_netbsd(3), None);
    }

    #[test]
    fn fcntl_round_trips() {
        check_category(
            "F_",
            &["F_CLOSEM", "F_MAXFD"],
            &[],
            |v| fcntl_cmd_to_host(v as c_int).map(i64::from),
            |h| fcntl_cmd_to_netbsd(h as c_int).map(i64::from),
        );
        assert_eq!(fcntl_cmd_to_host(RUMP_F_GETOWN), Some(libc::F_GETOWN));
        assert_eq!(fcntl_cmd_to_netbsd(libc::F_SETPIPE_SZ), None);
        assert_eq!(fd_flags_to_host(RUMP_FD_CLOEXEC), libc::FD_CLOEXEC);
        assert_eq!(fd_flags_to_netbsd(libc::FD_CLOEXEC), RUMP_FD_CLOEXEC);
        assert_eq!(fd_flags_to_netbsd(0), 0);
    }

    #[test]
    fn oflags_round_trip() {
        let dropped = ["O_SHLOCK", "O_EXLOCK", "O_RSYNC", "O_ALT_IO"];
        check_category(
            "O_",
            &dropped,
            &[],
            |v| {
                let h = oflags_to_host(v as c_int);
                // A dropped bit translates to nothing; access modes are values, not bits.
                (h != 0 || v == 0).then_some(i64::from(h))
            },
            |h| Some(i64::from(oflags_to_netbsd(h as c_int))),
        );
        let nb = RUMP_O_RDWR | RUMP_O_NONBLOCK | RUMP_O_APPEND;
        let h = oflags_to_host(nb);
        assert_eq!(h, libc::O_RDWR | libc::O_NONBLOCK | libc::O_APPEND);
        assert_eq!(oflags_to_netbsd(h), nb);
        // Linux's O_SYNC contains O_DSYNC's bit: it reads back as O_SYNC alone.
        assert_eq!(oflags_to_netbsd(libc::O_SYNC), RUMP_O_SYNC);
        assert_eq!(oflags_to_netbsd(libc::O_DSYNC), RUMP_O_DSYNC);
        assert_eq!(
            oflags_to_netbsd(libc::O_NOATIME | libc::O_WRONLY),
            RUMP_O_WRONLY
        );
        assert_eq!(oflags_to_host(RUMP_O_SHLOCK), 0);
    }

    #[test]
    fn poll_bits_round_trip() {
        for (name, v) in declared("POLL") {
            let v = v as c_short;
            let h = poll_to_host(v);
            assert_ne!(h, 0, "RUMP_{name}");
            assert_eq!(poll_to_netbsd(h), v, "RUMP_{name}");
        }
        assert_eq!(poll_to_host(RUMP_POLLOUT), libc::POLLOUT | libc::POLLWRNORM);
        assert_eq!(poll_to_netbsd(libc::POLLWRNORM), RUMP_POLLWRNORM);
        assert_eq!(poll_to_netbsd(libc::POLLWRBAND), RUMP_POLLWRBAND);
        assert_eq!(poll_to_netbsd(libc::POLLRDHUP | libc::POLLIN), RUMP_POLLIN);
        // revents: only what was asked for, plus the unmaskable three.
        let rev = RUMP_POLLIN | RUMP_POLLOUT | RUMP_POLLHUP;
        assert_eq!(
            poll_revents_to_host(rev, libc::POLLIN),
            libc::POLLIN | libc::POLLHUP
        );
        assert_eq!(
            poll_revents_to_host(rev, libc::POLLWRNORM),
            libc::POLLWRNORM | libc::POLLHUP
        );
    }

    #[test]
    #[allow(clippy::unnecessary_cast)] // libc::Ioctl is not u64 everywhere
    fn ioctls_round_trip() {
        let none = [
            "FIONSPACE",
            "SIOCSHIWAT",
            "SIOCGHIWAT",
            "SIOCSLOWAT",
            "SIOCGLOWAT",
            "SIOCADDMULTI",
            "SIOCDELMULTI",
        ];
        for prefix in ["FIO", "SIOC"] {
            for (name, v) in declared(prefix) {
                let v = v as u64;
                let h = ioctl_to_host(v);
                if none.contains(&name.as_str()) || name.starts_with("SIOC") && name.contains("IF")
                {
                    assert_eq!(h, None, "RUMP_{name}");
                    continue;
                }
                let h = h.unwrap_or_else(|| panic!("RUMP_{name} does not translate"));
                assert_eq!(ioctl_to_netbsd(h), Some(v), "RUMP_{name}");
            }
        }
        assert_eq!(ioctl_to_host(RUMP_FIONBIO), Some(libc::FIONBIO as u64));
        assert_eq!(ioctl_to_netbsd(libc::FIONREAD as u64), Some(RUMP_FIONREAD));
        assert_eq!(ioctl_to_netbsd(libc::SIOCGIFFLAGS as u64), None);
    }

    #[test]
    fn errnos_round_trip() {
        let netbsd_only: Vec<Errno> = ERRNOS_NETBSD_ONLY.iter().map(|(e, _)| *e).collect();
        for (name, e) in Errno::ALL {
            let h = errno_to_host(*e);
            if netbsd_only.contains(e) {
                assert_ne!(errno_from_host(h), *e, "{name} has no Linux twin");
                continue;
            }
            let back = errno_from_host(h);
            if *e == Errno::ENOTSUP {
                assert_eq!((h, back), (libc::EOPNOTSUPP, Errno::EOPNOTSUPP));
            } else {
                assert_eq!(back, *e, "{name} -> {h} -> {back:?}");
            }
        }
        // Every NetBSD errno is in exactly one table.
        assert_eq!(ERRNOS.len() + ERRNOS_NETBSD_ONLY.len(), Errno::ALL.len());
        assert_eq!(errno_to_host(Errno::ECONNREFUSED), libc::ECONNREFUSED);
        assert_eq!(errno_to_host(Errno::EWOULDBLOCK), libc::EWOULDBLOCK);
        assert_eq!(errno_to_host(Errno::ENOATTR), libc::ENODATA);
        assert_eq!(errno_from_host(libc::EDEADLOCK), Errno::EDEADLK);
        assert_eq!(errno_from_host(libc::EBADFD), Errno::EBADF);
        assert_eq!(errno_from_host(libc::ECHRNG), Errno::EIO);
        assert_eq!(errno_from_host(0), Errno::EIO);
        assert_eq!(errno_from_host(-1), Errno::EIO);
        assert_eq!(errno_to_host(Errno(1000)), libc::EIO);
        // Every Linux errno below 134 maps to a real NetBSD errno.
        for h in 1..134 {
            let e = errno_from_host(h);
            assert!(e.0 >= 1 && e.0 <= RUMP_ELAST, "{h} -> {e:?}");
        }
    }
}
