//! The socket system calls (NetBSD: uipc_syscalls.c), in Rust types.
//!
//! These are what the C boundary (abi/) calls after copying arguments in: descriptors,
//! NetBSD constants, [`SockAddr`] values and slices. Every call takes the kernel lock
//! once and releases it while sleeping.

use super::descrip::FileKind;
use super::errno::{Errno, KResult};
use super::kernel::{KGuard, Kernel};
use super::sockaddr::SockAddr;
use super::uipc_domain::Sockopt;
use super::uipc_socket::{SocketId, SS_ISCONNECTED, SS_NBIO};
use crate::abi::netbsd as nb;

/// A received message: bytes, sender and `MSG_*` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvResult {
    /// Bytes copied to the user.
    pub len: usize,
    /// Sender (datagram sockets, or recvfrom on a connected socket: the peer).
    pub from: Option<SockAddr>,
    /// `MSG_TRUNC` etc.
    pub flags: i32,
}

/// The socket behind a descriptor (fd_getsock).
///
/// # Errors
/// `EBADF`, `ENOTSOCK`.
pub(crate) fn getsock(g: &KGuard<'_>, fd: i32) -> KResult<SocketId> {
    match g.fd.get(fd)? {
        FileKind::Socket(so) => Ok(so),
    }
}

/// The largest send whose in-process input runs on the sending thread
/// ([`super::kernel::with_deferred_input`]).
const DEFERRED_SEND_MAX: usize = 2048;

impl Kernel {
    /// Check that a descriptor is an open socket (fd_getsock), before the arguments
    /// are interpreted: NetBSD reports a bad descriptor before a bad address.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`.
    pub fn getsock_check(&self, fd: i32) -> KResult<()> {
        getsock(&self.lock(), fd).map(|_| ())
    }

    /// socket(2).
    ///
    /// # Errors
    /// `EAFNOSUPPORT`, `EPROTONOSUPPORT`, `EPROTOTYPE`, `EINVAL` for unknown type
    /// flags, `EMFILE`.
    pub fn socket(&self, domain: i32, ty: i32, protocol: i32) -> KResult<i32> {
        let flags = ty & nb::RUMP_SOCK_FLAGS_MASK;
        let ty = ty & !nb::RUMP_SOCK_FLAGS_MASK;
        if flags & !(nb::RUMP_SOCK_CLOEXEC | nb::RUMP_SOCK_NONBLOCK | nb::RUMP_SOCK_NOSIGPIPE) != 0
        {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        g.fd.reserve_check()?;
        let so = self.socreate(&mut g, domain, ty, protocol)?;
        if flags & nb::RUMP_SOCK_NONBLOCK != 0 {
            g.so_mut(so).so_state |= SS_NBIO;
        }
        if flags & nb::RUMP_SOCK_NOSIGPIPE != 0 {
            g.so_mut(so).so_options |= nb::RUMP_SO_NOSIGPIPE;
        }
        match g
            .fd
            .alloc(FileKind::Socket(so), flags & nb::RUMP_SOCK_CLOEXEC != 0)
        {
            Ok(fd) => Ok(fd),
            Err(e) => {
                self.soclose(&mut g, so);
                Err(e)
            }
        }
    }

    /// socketpair(2): no domain here has connected pairs yet (no AF_LOCAL).
    ///
    /// # Errors
    /// `EOPNOTSUPP` for AF_LOCAL and for the inet families (as NetBSD for inet),
    /// `EAFNOSUPPORT` for families the kernel lacks.
    pub fn socketpair(&self, domain: i32, ty: i32, protocol: i32) -> KResult<(i32, i32)> {
        let _ = (ty, protocol);
        if domain == nb::RUMP_AF_LOCAL {
            return Err(Errno::EOPNOTSUPP);
        }
        self.lock().pffinddomain(domain)?;
        Err(Errno::EOPNOTSUPP)
    }

    /// bind(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, and the protocol's errors.
    pub fn bind(&self, fd: i32, nam: &SockAddr) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.sobind(&mut g, so, nam)
    }

    /// listen(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EOPNOTSUPP`, `EINVAL`.
    pub fn listen(&self, fd: i32, backlog: i32) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.solisten(&mut g, so, backlog)
    }

    /// accept(2) when `flags` is None: the new socket inherits the listener's
    /// non-blocking mode, as on BSD; paccept(2)/accept4(2) when `flags` is given: the new
    /// socket has exactly the `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags asked for.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EINVAL` (not listening or bad flags), `EWOULDBLOCK`,
    /// `EMFILE`, `ECONNABORTED`.
    pub fn accept(&self, fd: i32, flags: Option<i32>) -> KResult<(i32, SockAddr)> {
        let inherit = flags.is_none();
        let flags = flags.unwrap_or(0);
        if flags & !(nb::RUMP_SOCK_CLOEXEC | nb::RUMP_SOCK_NONBLOCK | nb::RUMP_SOCK_NOSIGPIPE) != 0
        {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        let head = getsock(&g, fd)?;
        g.fd.reserve_check()?;
        let (so, peer) = self.soaccept(&mut g, head)?;
        if !inherit {
            let s = g.so_mut(so);
            s.so_state &= !SS_NBIO;
            if flags & nb::RUMP_SOCK_NONBLOCK != 0 {
                s.so_state |= SS_NBIO;
            }
        }
        match g
            .fd
            .alloc(FileKind::Socket(so), flags & nb::RUMP_SOCK_CLOEXEC != 0)
        {
            Ok(nfd) => Ok((nfd, peer)),
            Err(e) => {
                self.soclose(&mut g, so);
                Err(e)
            }
        }
    }

    /// connect(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EISCONN`, `EINPROGRESS`, `EALREADY`, `ECONNREFUSED`, ...
    pub fn connect(&self, fd: i32, nam: &SockAddr) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.soconnect(&mut g, so, nam)
    }

    /// getsockname(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`.
    pub fn getsockname(&self, fd: i32) -> KResult<SockAddr> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        let pr = g.so(so).so_proto.clone();
        pr.sockaddr(&mut g, so)
    }

    /// getpeername(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `ENOTCONN`.
    pub fn getpeername(&self, fd: i32) -> KResult<SockAddr> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        if g.so(so).so_state & SS_ISCONNECTED == 0 {
            return Err(Errno::ENOTCONN);
        }
        let pr = g.so(so).so_proto.clone();
        pr.peeraddr(&mut g, so)
    }

    /// setsockopt(2); `val` in the NetBSD layout.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `ENOPROTOOPT`, `EINVAL`.
    pub fn setsockopt(&self, fd: i32, level: i32, name: i32, val: &[u8]) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.sosetopt(
            &mut g,
            so,
            Sockopt {
                level,
                name,
                data: val.to_vec(),
            },
        )
    }

    /// getsockopt(2); the value in the NetBSD layout.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `ENOPROTOOPT`.
    pub fn getsockopt(&self, fd: i32, level: i32, name: i32) -> KResult<Vec<u8>> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.sogetopt(&mut g, so, level, name)
    }

    /// sendmsg(2) with a gather list; returns bytes sent.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EPIPE`, `EWOULDBLOCK`, `EMSGSIZE`, `EDESTADDRREQ`,
    /// `EISCONN` (address given on a connected stream socket), ...
    pub fn sendmsg(
        &self,
        fd: i32,
        iov: &[&[u8]],
        to: Option<&SockAddr>,
        flags: i32,
    ) -> KResult<usize> {
        let send = || {
            let mut g = self.lock();
            let so = getsock(&g, fd)?;
            let s = g.so(so);
            let to = if to.is_some()
                && s.so_state & SS_ISCONNECTED != 0
                && s.pr_flags() & super::uipc_domain::PR_CONNREQUIRED != 0
            {
                // Stream sockets ignore a destination once connected (as BSD sendto
                // on TCP).
                None
            } else {
                to
            };
            self.sosend(&mut g, so, to, iov, flags)
        };
        // A small send is a request waiting for its answer: run the receiving
        // kernel's input on this thread if it is in this process (no thread switch).
        // A large one is bulk, which goes faster with the receiver's own thread
        // working beside this one.
        let len: usize = iov.iter().map(|b| b.len()).sum();
        if len <= DEFERRED_SEND_MAX {
            super::kernel::with_deferred_input(send)
        } else {
            send()
        }
    }

    /// recvmsg(2) with a scatter list.
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EWOULDBLOCK`, `ENOTCONN`, `EOPNOTSUPP` (MSG_OOB), ...
    pub fn recvmsg(&self, fd: i32, iov: &mut [&mut [u8]], flags: i32) -> KResult<RecvResult> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        let (len, from, mflags) = self.soreceive(&mut g, so, iov, flags)?;
        Ok(RecvResult {
            len,
            from,
            flags: mflags,
        })
    }

    /// shutdown(2).
    ///
    /// # Errors
    /// `EBADF`, `ENOTSOCK`, `EINVAL`, `ENOTCONN`.
    pub fn shutdown(&self, fd: i32, how: i32) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        self.soshutdown(&mut g, so, how)
    }

    /// Close the object of a file whose last descriptor went away.
    pub(crate) fn closef(&self, g: &mut KGuard<'_>, f: FileKind) {
        match f {
            FileKind::Socket(so) => self.soclose(g, so),
        }
    }
}
