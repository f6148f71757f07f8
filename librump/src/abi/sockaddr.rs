//! Socket addresses as bytes at the C boundary, in both layouts the process sees.
//!
//! The kernel holds addresses as [`SockAddr`]; C hands them over as bytes. The NetBSD
//! layout (what `rump_sys_*` callers pass) starts with `sa_len` and a one-byte
//! `sa_family`; the Linux host layout (what the host-ABI entry points, the hijack and
//! sockin see) starts with a two-byte `sa_family` in host byte order and has no length.
//!
//! Parsing trusts the buffer length, never `sa_len`: a C caller's `socklen_t` is what
//! bounds the copy, and NetBSD's own `sockargs()` overwrites `sa_len` with it too.
//! Ports are in network byte order on the wire of both layouts. `sin6_flowinfo` is kept as
//! the raw 32-bit field, as `std::net::SocketAddrV6` does; `sin6_scope_id` is a host-order
//! interface index.

use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::netbsd::{
    rump_sockaddr, rump_sockaddr_in, rump_sockaddr_in6, RUMP_AF_INET, RUMP_AF_INET6, RUMP_AF_UNSPEC,
};
use crate::kern::errno::Errno;
use crate::kern::sockaddr::SockAddr;

/// `sizeof(struct sockaddr_in)` in the NetBSD layout.
const NB_SIN_LEN: usize = size_of::<rump_sockaddr_in>();
/// `sizeof(struct sockaddr_in6)` in the NetBSD layout.
const NB_SIN6_LEN: usize = size_of::<rump_sockaddr_in6>();
/// `sizeof(struct sockaddr)`: what an `AF_UNSPEC` address occupies.
const NB_SA_LEN: usize = size_of::<rump_sockaddr>();

/// `sizeof(struct sockaddr_in)` on the host.
const HOST_SIN_LEN: usize = size_of::<libc::sockaddr_in>();
/// `sizeof(struct sockaddr_in6)` on the host.
const HOST_SIN6_LEN: usize = size_of::<libc::sockaddr_in6>();
/// Linux still accepts the RFC 2133 `sockaddr_in6`, which ends before `sin6_scope_id`.
const HOST_SIN6_LEN_RFC2133: usize = offset_of!(libc::sockaddr_in6, sin6_scope_id);
/// `sizeof(struct sockaddr)` on the host.
const HOST_SA_LEN: usize = size_of::<libc::sockaddr>();

/// Field offsets of one layout, so that parsing and emitting share one routine.
struct Layout {
    sin_port: usize,
    sin_addr: usize,
    sin6_port: usize,
    sin6_flowinfo: usize,
    sin6_addr: usize,
    sin6_scope_id: usize,
}

const NETBSD: Layout = Layout {
    sin_port: offset_of!(rump_sockaddr_in, sin_port),
    sin_addr: offset_of!(rump_sockaddr_in, sin_addr),
    sin6_port: offset_of!(rump_sockaddr_in6, sin6_port),
    sin6_flowinfo: offset_of!(rump_sockaddr_in6, sin6_flowinfo),
    sin6_addr: offset_of!(rump_sockaddr_in6, sin6_addr),
    sin6_scope_id: offset_of!(rump_sockaddr_in6, sin6_scope_id),
};

const HOST: Layout = Layout {
    sin_port: offset_of!(libc::sockaddr_in, sin_port),
    sin_addr: offset_of!(libc::sockaddr_in, sin_addr),
    sin6_port: offset_of!(libc::sockaddr_in6, sin6_port),
    sin6_flowinfo: offset_of!(libc::sockaddr_in6, sin6_flowinfo),
    sin6_addr: offset_of!(libc::sockaddr_in6, sin6_addr),
    sin6_scope_id: offset_of!(libc::sockaddr_in6, sin6_scope_id),
};

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ne32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

/// Parses an IPv4 address whose family field has been checked.
fn parse_v4(buf: &[u8], l: &Layout) -> SockAddr {
    let ip = Ipv4Addr::from(bytes::<4>(buf, l.sin_addr));
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(ip, be16(buf, l.sin_port))))
}

/// Parses an IPv6 address whose family field has been checked; a buffer that ends before
/// `sin6_scope_id` (host RFC 2133 layout) has scope 0.
fn parse_v6(buf: &[u8], l: &Layout) -> SockAddr {
    let ip = Ipv6Addr::from(bytes::<16>(buf, l.sin6_addr));
    let scope = if buf.len() >= l.sin6_scope_id + 4 {
        ne32(buf, l.sin6_scope_id)
    } else {
        0
    };
    SockAddr::Inet(SocketAddr::V6(SocketAddrV6::new(
        ip,
        be16(buf, l.sin6_port),
        ne32(buf, l.sin6_flowinfo),
        scope,
    )))
}

/// Writes the address part (everything after the family) into a zeroed `full` buffer.
fn emit_body(a: &SockAddr, full: &mut [u8], l: &Layout) {
    match a {
        SockAddr::Unspec => {}
        SockAddr::Inet(SocketAddr::V4(v4)) => {
            full[l.sin_port..l.sin_port + 2].copy_from_slice(&v4.port().to_be_bytes());
            full[l.sin_addr..l.sin_addr + 4].copy_from_slice(&v4.ip().octets());
        }
        SockAddr::Inet(SocketAddr::V6(v6)) => {
            full[l.sin6_port..l.sin6_port + 2].copy_from_slice(&v6.port().to_be_bytes());
            full[l.sin6_flowinfo..l.sin6_flowinfo + 4]
                .copy_from_slice(&v6.flowinfo().to_ne_bytes());
            full[l.sin6_addr..l.sin6_addr + 16].copy_from_slice(&v6.ip().octets());
            full[l.sin6_scope_id..l.sin6_scope_id + 4]
                .copy_from_slice(&v6.scope_id().to_ne_bytes());
        }
    }
}

/// Copies `min(out.len(), full.len())` bytes and returns the full length.
fn copy_out(full: &[u8], out: &mut [u8]) -> usize {
    let n = full.len().min(out.len());
    out[..n].copy_from_slice(&full[..n]);
    full.len()
}

/// The length of `a` in the NetBSD layout (`sa_len`): 16 for IPv4, 28 for IPv6 and 16
/// (`sizeof(struct sockaddr)`) for `AF_UNSPEC`.
pub fn netbsd_len(a: &SockAddr) -> usize {
    match a {
        SockAddr::Unspec => NB_SA_LEN,
        SockAddr::Inet(SocketAddr::V4(_)) => NB_SIN_LEN,
        SockAddr::Inet(SocketAddr::V6(_)) => NB_SIN6_LEN,
    }
}

/// The length of `a` in the host layout.
pub fn host_len(a: &SockAddr) -> usize {
    match a {
        SockAddr::Unspec => HOST_SA_LEN,
        SockAddr::Inet(SocketAddr::V4(_)) => HOST_SIN_LEN,
        SockAddr::Inet(SocketAddr::V6(_)) => HOST_SIN6_LEN,
    }
}

/// Parses a NetBSD `struct sockaddr` of `buf.len()` bytes (`sa_len` is not trusted).
///
/// # Errors
/// `EINVAL` when `buf` is shorter than the family field or than the family's struct
/// (`sockaddr_in` 16, `sockaddr_in6` 28 bytes); `EAFNOSUPPORT` for a family other than
/// `AF_UNSPEC`, `AF_INET` and `AF_INET6`.
pub fn from_netbsd(buf: &[u8]) -> Result<SockAddr, Errno> {
    if buf.len() < offset_of!(rump_sockaddr, sa_family) + 1 {
        return Err(Errno::EINVAL);
    }
    match i32::from(buf[offset_of!(rump_sockaddr, sa_family)]) {
        RUMP_AF_UNSPEC => Ok(SockAddr::Unspec),
        RUMP_AF_INET if buf.len() >= NB_SIN_LEN => Ok(parse_v4(buf, &NETBSD)),
        RUMP_AF_INET6 if buf.len() >= NB_SIN6_LEN => Ok(parse_v6(buf, &NETBSD)),
        RUMP_AF_INET | RUMP_AF_INET6 => Err(Errno::EINVAL),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Writes `a` in the NetBSD layout, `sa_len` set, into the first `min(out.len(), full)`
/// bytes of `out`; returns the full length, which the caller reports as the address
/// length (so a short buffer gives a truncated address and a larger length, as in
/// NetBSD's `getsockname`).
pub fn to_netbsd(a: &SockAddr, out: &mut [u8]) -> usize {
    let len = netbsd_len(a);
    let mut full = [0u8; NB_SIN6_LEN];
    // `len` is at most 28 and the family at most 24: both fit their one-byte fields.
    full[offset_of!(rump_sockaddr, sa_len)] = len as u8;
    full[offset_of!(rump_sockaddr, sa_family)] = a.family() as u8;
    emit_body(a, &mut full, &NETBSD);
    copy_out(&full[..len], out)
}

/// The host's `sa_family` field of `buf`, or `None` when `buf` is too short for it.
fn host_family(buf: &[u8]) -> Option<i32> {
    let at = offset_of!(libc::sockaddr, sa_family);
    let raw = buf.get(at..at + size_of::<libc::sa_family_t>())?;
    Some(i32::from(libc::sa_family_t::from_ne_bytes([
        raw[0], raw[1],
    ])))
}

/// Parses a host (Linux) `struct sockaddr` of `buf.len()` bytes.
///
/// # Errors
/// As Linux does: `EINVAL` when `buf` is shorter than the family field, than
/// `sockaddr_in` (16) for `AF_INET`, or than the RFC 2133 `sockaddr_in6` (24; the scope
/// is then 0) for `AF_INET6`; `EAFNOSUPPORT` for other families.
pub fn from_host(buf: &[u8]) -> Result<SockAddr, Errno> {
    match host_family(buf).ok_or(Errno::EINVAL)? {
        libc::AF_UNSPEC => Ok(SockAddr::Unspec),
        libc::AF_INET if buf.len() >= HOST_SIN_LEN => Ok(parse_v4(buf, &HOST)),
        libc::AF_INET6 if buf.len() >= HOST_SIN6_LEN_RFC2133 => Ok(parse_v6(buf, &HOST)),
        libc::AF_INET | libc::AF_INET6 => Err(Errno::EINVAL),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Writes `a` in the host layout into the first `min(out.len(), full)` bytes of `out`;
/// returns the full length.
pub fn to_host(a: &SockAddr, out: &mut [u8]) -> usize {
    let len = host_len(a);
    let family: libc::sa_family_t = match a {
        SockAddr::Unspec => libc::AF_UNSPEC,
        SockAddr::Inet(SocketAddr::V4(_)) => libc::AF_INET,
        SockAddr::Inet(SocketAddr::V6(_)) => libc::AF_INET6,
    } as libc::sa_family_t;
    let mut full = [0u8; HOST_SIN6_LEN];
    let at = offset_of!(libc::sockaddr, sa_family);
    full[at..at + 2].copy_from_slice(&family.to_ne_bytes());
    emit_body(a, &mut full, &HOST);
    copy_out(&full[..len], out)
}

// The layouts these routines assume.
const _: () = assert!(NB_SIN_LEN == 16 && NB_SIN6_LEN == 28 && NB_SA_LEN == 16);
const _: () = assert!(HOST_SIN_LEN == 16 && HOST_SIN6_LEN == 28 && HOST_SA_LEN == 16);
const _: () = assert!(HOST_SIN6_LEN_RFC2133 == 24);

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> SockAddr {
        SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port)))
    }

    fn v6(port: u16, flow: u32, scope: u32) -> SockAddr {
        let ip: Ipv6Addr = "fe80::1:2:3:4".parse().unwrap();
        SockAddr::Inet(SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope)))
    }

    fn netbsd_bytes(a: &SockAddr) -> Vec<u8> {
        let mut out = vec![0xaa; 64];
        let n = to_netbsd(a, &mut out);
        out.truncate(n);
        out
    }

    fn host_bytes(a: &SockAddr) -> Vec<u8> {
        let mut out = vec![0xaa; 64];
        let n = to_host(a, &mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn netbsd_v4_layout() {
        let b = netbsd_bytes(&v4([127, 0, 0, 1], 80));
        assert_eq!(b, [16, 2, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn netbsd_v6_layout() {
        let b = netbsd_bytes(&v6(0x1234, 7, 3));
        assert_eq!(b.len(), 28);
        assert_eq!(&b[..4], &[28, 24, 0x12, 0x34]);
        assert_eq!(&b[4..8], &7u32.to_ne_bytes());
        assert_eq!(&b[8..10], &[0xfe, 0x80]);
        assert_eq!(&b[24..28], &3u32.to_ne_bytes());
    }

    #[test]
    fn netbsd_round_trips() {
        for a in [
            v4([10, 0, 0, 2], 65535),
            v4([0, 0, 0, 0], 0),
            v6(443, 0x000f_ffff, 2),
            v6(0, 0, 0),
            SockAddr::Unspec,
        ] {
            let b = netbsd_bytes(&a);
            assert_eq!(b.len(), netbsd_len(&a));
            assert_eq!(usize::from(b[0]), b.len(), "sa_len");
            assert_eq!(from_netbsd(&b), Ok(a));
        }
    }

    #[test]
    fn netbsd_errors() {
        assert_eq!(from_netbsd(&[]), Err(Errno::EINVAL));
        assert_eq!(from_netbsd(&[16]), Err(Errno::EINVAL));
        let mut b = netbsd_bytes(&v4([1, 2, 3, 4], 5));
        assert_eq!(from_netbsd(&b[..15]), Err(Errno::EINVAL));
        b[1] = 99;
        assert_eq!(from_netbsd(&b), Err(Errno::EAFNOSUPPORT));
        b[1] = RUMP_AF_LOCAL_FOR_TEST;
        assert_eq!(from_netbsd(&b), Err(Errno::EAFNOSUPPORT));
        let b6 = netbsd_bytes(&v6(1, 2, 3));
        assert_eq!(from_netbsd(&b6[..27]), Err(Errno::EINVAL));
        assert_eq!(from_netbsd(&b6[..16]), Err(Errno::EINVAL));
        // AF_UNSPEC needs only the family.
        assert_eq!(from_netbsd(&[0, 0]), Ok(SockAddr::Unspec));
    }

    const RUMP_AF_LOCAL_FOR_TEST: u8 = super::super::netbsd::RUMP_AF_LOCAL as u8;

    #[test]
    fn netbsd_sa_len_is_not_trusted() {
        let mut b = netbsd_bytes(&v4([192, 168, 1, 1], 22));
        for lie in [0, 2, 15, 200, 255] {
            b[0] = lie;
            assert_eq!(from_netbsd(&b), Ok(v4([192, 168, 1, 1], 22)));
        }
        // A longer buffer is fine; the extra bytes are ignored.
        b.extend_from_slice(&[0xff; 16]);
        assert_eq!(from_netbsd(&b), Ok(v4([192, 168, 1, 1], 22)));
    }

    #[test]
    fn netbsd_truncates_to_the_buffer() {
        let a = v6(9, 0, 0);
        let mut out = [0xaa; 10];
        assert_eq!(to_netbsd(&a, &mut out), 28);
        assert_eq!(&out[..4], &[28, 24, 0, 9]);
        let mut none: [u8; 0] = [];
        assert_eq!(to_netbsd(&a, &mut none), 28);
        // Bytes past the address are left alone.
        let mut big = [0xaa; 20];
        assert_eq!(to_netbsd(&v4([1, 1, 1, 1], 1), &mut big), 16);
        assert_eq!(&big[16..], &[0xaa; 4]);
    }

    #[test]
    fn netbsd_unspec() {
        let b = netbsd_bytes(&SockAddr::Unspec);
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..2], &[16, 0]);
        assert!(b[2..].iter().all(|x| *x == 0));
    }

    #[test]
    fn host_layout_matches_libc() {
        let b = host_bytes(&v4([127, 0, 0, 1], 8080));
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 8080u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let mut expect = Vec::new();
        expect.extend_from_slice(&sin.sin_family.to_ne_bytes());
        expect.extend_from_slice(&sin.sin_port.to_ne_bytes());
        expect.extend_from_slice(&sin.sin_addr.s_addr.to_ne_bytes());
        expect.extend_from_slice(&sin.sin_zero);
        assert_eq!(b, expect);

        let b6 = host_bytes(&v6(53, 0xabcde, 4));
        assert_eq!(b6.len(), 28);
        assert_eq!(&b6[..2], &(libc::AF_INET6 as u16).to_ne_bytes());
        assert_eq!(&b6[2..4], &53u16.to_be_bytes());
        assert_eq!(&b6[4..8], &0xabcdeu32.to_ne_bytes());
        assert_eq!(&b6[24..], &4u32.to_ne_bytes());
    }

    #[test]
    fn host_round_trips() {
        for a in [
            v4([8, 8, 4, 4], 53),
            v6(1, 0x000f_ffff, 0xffff_ffff),
            v6(65535, 0, 0),
            SockAddr::Unspec,
        ] {
            let b = host_bytes(&a);
            assert_eq!(b.len(), host_len(&a));
            assert_eq!(from_host(&b), Ok(a));
            // And across layouts.
            assert_eq!(from_netbsd(&netbsd_bytes(&from_host(&b).unwrap())), Ok(a));
        }
    }

    #[test]
    fn host_errors() {
        assert_eq!(from_host(&[]), Err(Errno::EINVAL));
        assert_eq!(from_host(&[2]), Err(Errno::EINVAL));
        let b = host_bytes(&v4([1, 2, 3, 4], 5));
        assert_eq!(from_host(&b[..15]), Err(Errno::EINVAL));
        let b6 = host_bytes(&v6(1, 2, 3));
        assert_eq!(from_host(&b6[..23]), Err(Errno::EINVAL));
        // RFC 2133 length: accepted, scope 0.
        assert_eq!(from_host(&b6[..24]), Ok(v6(1, 2, 0)));
        let mut unix = host_bytes(&v4([1, 2, 3, 4], 5));
        unix[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(from_host(&unix), Err(Errno::EAFNOSUPPORT));
        // A NetBSD-layout AF_INET (16, 2) reads as family 0x0210 on the host: rejected.
        let nb = netbsd_bytes(&v4([1, 2, 3, 4], 5));
        assert_eq!(from_host(&nb), Err(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn host_truncates_to_the_buffer() {
        let mut out = [0u8; 3];
        assert_eq!(to_host(&v4([1, 2, 3, 4], 0x0102), &mut out), 16);
        assert_eq!(out[2], 0x01);
    }
}
