//! Domains and the protocol switch (NetBSD: uipc_domain.c, sys/protosw.h, sys/domain.h).
//!
//! Each address family registers a [`Domain`] holding its protocol switch entries; a
//! socket finds its [`Protosw`] when it is created and the socket layer reaches the
//! protocol only through it. This is the seam the paper's sockin uses: it registers a
//! PF_INET domain whose user requests map onto host sockets.
//!
//! Ownership: every request receives `&mut KernelState` (the kernel lock is held) and
//! the socket's handle. An [`MbufChain`] handed to [`Protosw::send`] belongs to the
//! protocol from then on, whether the call succeeds or not.

use std::sync::Arc;

use super::errno::{Errno, KResult};
use super::kernel::KernelState;
use super::mbuf::MbufChain;
use super::sockaddr::SockAddr;
use super::uipc_socket::SocketId;

/// Atomic messages only (datagrams).
pub const PR_ATOMIC: u32 = 0x01;
/// Addresses are given with messages.
pub const PR_ADDR: u32 = 0x02;
/// A connection is required before sending.
pub const PR_CONNREQUIRED: u32 = 0x04;
/// The protocol wants `rcvd` calls when the user has taken data.
pub const PR_WANTRCVD: u32 = 0x08;
/// The protocol supports listen(2).
pub const PR_LISTEN: u32 = 0x20;
/// Abort on accept-queue discard.
pub const PR_ABRTACPTDIS: u32 = 0x80;

/// Get or set, for [`Protosw::ctloutput`] (PRCO_GETOPT, PRCO_SETOPT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoptDir {
    /// getsockopt(2).
    Get,
    /// setsockopt(2).
    Set,
}

/// A socket option on its way to or from a protocol (`struct sockopt`).
#[derive(Clone, Debug, Default)]
pub struct Sockopt {
    /// Level (`SOL_SOCKET`, `IPPROTO_TCP`, ...), NetBSD numbering.
    pub level: i32,
    /// Option name, NetBSD numbering.
    pub name: i32,
    /// The value in the NetBSD layout: input for Set, output for Get.
    pub data: Vec<u8>,
}

/// How a protocol let go of a socket on close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detach {
    /// The control block is gone; the socket layer frees the socket now.
    Done,
    /// The protocol still has work (data to deliver); it calls
    /// [`KernelState::sofree`] when done.
    Lingering,
}

/// A protocol switch entry: the user requests and control output of one protocol.
pub trait Protosw: Send + Sync {
    /// Short name for logs ("sockin-tcp").
    fn pr_name(&self) -> &'static str;
    /// Socket type served (`SOCK_STREAM`, ...).
    fn pr_type(&self) -> i32;
    /// Protocol number (`IPPROTO_TCP`, ...).
    fn pr_protocol(&self) -> i32;
    /// `PR_*` flags.
    fn pr_flags(&self) -> u32;

    /// Create the control block of a new socket (PRU_ATTACH).
    ///
    /// # Errors
    /// Whatever the protocol cannot do; the socket is then discarded.
    fn attach(&self, k: &mut KernelState, so: SocketId, proto: i32) -> KResult<()>;
    /// The socket is being closed (PRU_DETACH).
    fn detach(&self, k: &mut KernelState, so: SocketId) -> Detach;
    /// Bind a local address (PRU_BIND).
    ///
    /// # Errors
    /// `EADDRINUSE`, `EADDRNOTAVAIL`, `EINVAL`, `EAFNOSUPPORT`, ...
    fn bind(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()>;
    /// Start listening (PRU_LISTEN). The default is a protocol without connections's.
    ///
    /// # Errors
    /// `EOPNOTSUPP` for protocols without connections.
    fn listen(&self, k: &mut KernelState, so: SocketId, backlog: i32) -> KResult<()> {
        let _ = (k, so, backlog);
        Err(Errno::EOPNOTSUPP)
    }
    /// Start connecting (PRU_CONNECT); completion is reported through
    /// `soisconnected`/`so_error`.
    ///
    /// # Errors
    /// `ECONNREFUSED`, `EISCONN`, ...
    fn connect(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()>;
    /// Dissolve a datagram association or start closing (PRU_DISCONNECT).
    ///
    /// # Errors
    /// `ENOTCONN`.
    fn disconnect(&self, k: &mut KernelState, so: SocketId) -> KResult<()>;
    /// No more sends: the socket layer already marked SS_CANTSENDMORE (PRU_SHUTDOWN).
    /// By default nothing more to do (no peer to tell).
    ///
    /// # Errors
    /// Protocol specific.
    fn shutdown(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        let _ = (k, so);
        Ok(())
    }
    /// Drop a connection that was never accepted (PRU_ABORT); the protocol frees the
    /// socket. By default as a detach.
    fn abort(&self, k: &mut KernelState, so: SocketId) {
        let _ = self.detach(k, so);
    }
    /// A connection is being accepted: the peer's address (PRU_ACCEPT).
    ///
    /// # Errors
    /// `ECONNABORTED` when the connection died in the queue; `EOPNOTSUPP` by default.
    fn accept(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let _ = (k, so);
        Err(Errno::EOPNOTSUPP)
    }
    /// The local address (PRU_SOCKADDR).
    ///
    /// # Errors
    /// Protocol specific.
    fn sockaddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr>;
    /// The peer's address (PRU_PEERADDR).
    ///
    /// # Errors
    /// `ENOTCONN`.
    fn peeraddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr>;
    /// The user took data from the receive buffer (PRU_RCVD, for PR_WANTRCVD); nothing
    /// by default.
    fn rcvd(&self, k: &mut KernelState, so: SocketId) {
        let _ = (k, so);
    }
    /// Send data (PRU_SEND): the protocol owns `m` from here on.
    ///
    /// # Errors
    /// `EPIPE`, `ENOBUFS`, `EMSGSIZE`, `EHOSTUNREACH`, ...
    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()>;
    /// Protocol-level socket options; also sees SOL_SOCKET options after the socket
    /// layer has handled them (pr_ctloutput).
    ///
    /// # Errors
    /// `ENOPROTOOPT` for options the protocol does not have.
    fn ctloutput(
        &self,
        k: &mut KernelState,
        so: SocketId,
        dir: SoptDir,
        opt: &mut Sockopt,
    ) -> KResult<()>;
    /// Protocol ioctls (PRU_CONTROL).
    ///
    /// # Errors
    /// `EOPNOTSUPP` by default.
    fn ioctl(&self, k: &mut KernelState, so: SocketId, cmd: u64, data: &mut [u8]) -> KResult<()> {
        let _ = (k, so, cmd, data);
        Err(Errno::EOPNOTSUPP)
    }
}

/// An address family and its protocols (`struct domain`).
pub struct Domain {
    /// `AF_*` value.
    pub dom_family: i32,
    /// Name for logs ("sockin").
    pub dom_name: &'static str,
    /// The protocol switch.
    pub dom_protosw: Vec<Arc<dyn Protosw>>,
}

impl Domain {
    /// Find the protocol for a type and protocol number; protocol 0 means the first
    /// of that type (pffindproto / pffindtype).
    ///
    /// # Errors
    /// `EPROTONOSUPPORT` when the type exists with another protocol, `EPROTOTYPE` or
    /// `ESOCKTNOSUPPORT` when the type is unknown, as NetBSD's socreate.
    pub fn findproto(&self, ty: i32, proto: i32) -> KResult<Arc<dyn Protosw>> {
        let mut type_seen = false;
        for pr in &self.dom_protosw {
            if pr.pr_type() != ty {
                continue;
            }
            type_seen = true;
            if proto == 0 || pr.pr_protocol() == proto {
                return Ok(pr.clone());
            }
        }
        // A raw socket for a protocol without an entry of its own gets the wildcard raw
        // entry (protocol 0), as pffindproto's "maybe".
        if let Some(pr) = self.dom_protosw.iter().find(|pr| {
            pr.pr_type() == ty && pr.pr_protocol() == 0 && ty == crate::abi::netbsd::RUMP_SOCK_RAW
        }) {
            return Ok(pr.clone());
        }
        if type_seen || proto != 0 {
            Err(Errno::EPROTONOSUPPORT)
        } else {
            Err(Errno::EPROTOTYPE)
        }
    }
}

impl KernelState {
    /// The domain of a family (pffinddomain).
    ///
    /// # Errors
    /// `EAFNOSUPPORT` when no domain serves the family.
    pub fn pffinddomain(&self, family: i32) -> KResult<&Domain> {
        self.domains
            .iter()
            .find(|d| d.dom_family == family)
            .map(|d| d.as_ref())
            .ok_or(Errno::EAFNOSUPPORT)
    }
}
