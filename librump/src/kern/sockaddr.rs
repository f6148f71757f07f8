//! Socket addresses as the kernel holds them.
//!
//! The C boundary turns NetBSD `struct sockaddr` bytes (with `sa_len`) into a
//! [`SockAddr`] once, checking length and family; protocols never see raw bytes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::errno::Errno;
use crate::abi::netbsd::{RUMP_AF_INET, RUMP_AF_INET6, RUMP_AF_UNSPEC};

/// An address a socket binds, connects or sends to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockAddr {
    /// `AF_UNSPEC`: used to dissolve a datagram socket's association (connect).
    Unspec,
    /// `AF_INET` or `AF_INET6`.
    Inet(SocketAddr),
}

impl SockAddr {
    /// The NetBSD address family.
    pub fn family(&self) -> i32 {
        match self {
            SockAddr::Unspec => RUMP_AF_UNSPEC,
            SockAddr::Inet(SocketAddr::V4(_)) => RUMP_AF_INET,
            SockAddr::Inet(SocketAddr::V6(_)) => RUMP_AF_INET6,
        }
    }

    /// The wildcard address of a family, port 0.
    pub fn any(family: i32) -> Result<SockAddr, Errno> {
        match family {
            RUMP_AF_INET => Ok(SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::UNSPECIFIED,
                0,
            )))),
            RUMP_AF_INET6 => Ok(SockAddr::Inet(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::UNSPECIFIED,
                0,
                0,
                0,
            )))),
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// The inet address, or `EAFNOSUPPORT`.
    pub fn inet(&self) -> Result<SocketAddr, Errno> {
        match self {
            SockAddr::Inet(a) => Ok(*a),
            SockAddr::Unspec => Err(Errno::EAFNOSUPPORT),
        }
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(a: SocketAddr) -> Self {
        SockAddr::Inet(a)
    }
}
