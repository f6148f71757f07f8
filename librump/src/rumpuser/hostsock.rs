//! Host sockets for the sockin domain (NetBSD: sockin_user.c, the rumpcomp_sockin_*
//! hypercalls).
//!
//! Every host socket is non-blocking: the virtual kernel never blocks in a host call
//! with its lock held. Readiness comes from one epoll instance per kernel, waited on by
//! sockin's worker thread without the lock. Host errno values are translated to NetBSD
//! ones here, through abi/hostabi.rs, the one translation table.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::raw::c_int;

use crate::abi::hostabi::errno_from_host;
use crate::kern::errno::Errno;

fn last_errno() -> Errno {
    errno_from_host(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn cvt(r: c_int) -> Result<c_int, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: isize) -> Result<usize, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r as usize)
    }
}

/// A host descriptor owned by the virtual kernel; closed on drop.
#[derive(Debug)]
pub struct HostFd(c_int);

impl HostFd {
    /// The raw number.
    pub fn raw(&self) -> c_int {
        self.0
    }
}

impl Drop for HostFd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor and close it exactly once.
        unsafe {
            libc::close(self.0);
        }
    }
}

/// Host socket address storage and its length.
fn sockaddr_to_host(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and suitably aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and suitably aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn sockaddr_from_host(ss: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    match c_int::from(ss.ss_family) {
        libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and it is long enough.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6, and it is long enough.
            let s: libc::sockaddr_in6 =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(s.sin6_addr.s6_addr),
                u16::from_be(s.sin6_port),
                u32::from_be(s.sin6_flowinfo),
                s.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// socket(2) on the host, non-blocking and close-on-exec; `inet6` picks the family,
/// `stream` the type.
///
/// # Errors
/// The host's error, translated.
pub fn socket(inet6: bool, stream: bool) -> Result<HostFd, Errno> {
    let af = if inet6 { libc::AF_INET6 } else { libc::AF_INET };
    let ty = if stream {
        libc::SOCK_STREAM
    } else {
        libc::SOCK_DGRAM
    };
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::socket(af, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    Ok(HostFd(fd))
}

/// bind(2).
///
/// # Errors
/// The host's error, translated.
pub fn bind(fd: &HostFd, a: &SocketAddr) -> Result<(), Errno> {
    let (ss, len) = sockaddr_to_host(a);
    // SAFETY: `ss` holds a valid address of `len` bytes.
    cvt(unsafe { libc::bind(fd.0, (&ss as *const libc::sockaddr_storage).cast(), len) }).map(|_| ())
}

/// connect(2); a connection in progress is `Err(EINPROGRESS)`. `None` dissolves a
/// datagram association (AF_UNSPEC).
///
/// # Errors
/// The host's error, translated.
pub fn connect(fd: &HostFd, a: Option<&SocketAddr>) -> Result<(), Errno> {
    let (ss, len) = match a {
        Some(a) => sockaddr_to_host(a),
        None => {
            // SAFETY: all-zero sockaddr_storage is valid; AF_UNSPEC is 0.
            let ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            (ss, std::mem::size_of::<libc::sockaddr>() as libc::socklen_t)
        }
    };
    loop {
        // SAFETY: `ss` holds a valid address of `len` bytes.
        let r = unsafe { libc::connect(fd.0, (&ss as *const libc::sockaddr_storage).cast(), len) };
        match cvt(r) {
            Err(Errno::EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

/// listen(2).
///
/// # Errors
/// The host's error, translated.
pub fn listen(fd: &HostFd, backlog: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::listen(fd.0, backlog) }).map(|_| ())
}

/// accept4(2), non-blocking and close-on-exec; `Err(EAGAIN)` when none is waiting.
///
/// # Errors
/// The host's error, translated.
pub fn accept(fd: &HostFd) -> Result<(HostFd, Option<SocketAddr>), Errno> {
    // SAFETY: all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss` and `len` are valid for writing; the kernel writes at most `len` bytes.
    let nfd = cvt(unsafe {
        libc::accept4(
            fd.0,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    Ok((HostFd(nfd), sockaddr_from_host(&ss, len)))
}

fn name_call(
    fd: &HostFd,
    f: unsafe extern "C" fn(c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> c_int,
) -> Result<Option<SocketAddr>, Errno> {
    // SAFETY: all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss` and `len` are valid for writing.
    cvt(unsafe {
        f(
            fd.0,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    })?;
    Ok(sockaddr_from_host(&ss, len))
}

/// getsockname(2); None for an unbound socket of no family.
///
/// # Errors
/// The host's error, translated.
pub fn getsockname(fd: &HostFd) -> Result<Option<SocketAddr>, Errno> {
    name_call(fd, libc::getsockname)
}

/// getpeername(2).
///
/// # Errors
/// The host's error, translated (`ENOTCONN`).
pub fn getpeername(fd: &HostFd) -> Result<Option<SocketAddr>, Errno> {
    name_call(fd, libc::getpeername)
}

/// setsockopt(2) with host level, name and value.
///
/// # Errors
/// The host's error, translated.
pub fn setsockopt(fd: &HostFd, level: c_int, name: c_int, val: &[u8]) -> Result<(), Errno> {
    // SAFETY: `val` is a valid buffer of `val.len()` bytes.
    cvt(unsafe {
        libc::setsockopt(
            fd.0,
            level,
            name,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// getsockopt(2) with host level and name; returns the value bytes.
///
/// # Errors
/// The host's error, translated.
pub fn getsockopt(fd: &HostFd, level: c_int, name: c_int) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is valid for `len` bytes of writing.
    cvt(unsafe { libc::getsockopt(fd.0, level, name, buf.as_mut_ptr().cast(), &mut len) })?;
    Ok(buf[..(len as usize).min(buf.len())].to_vec())
}

/// The pending error of a socket (SO_ERROR), cleared by reading it.
pub fn take_error(fd: &HostFd) -> Option<Errno> {
    let v = getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR).ok()?;
    let e = i32::from_ne_bytes(v.get(..4)?.try_into().ok()?);
    (e != 0).then(|| errno_from_host(e))
}

/// recvfrom(2) into one buffer; returns bytes, sender and whether the datagram was
/// truncated. `Ok((0, ..))` on a stream is EOF.
///
/// # Errors
/// `EAGAIN` when nothing is there; the host's error otherwise, translated.
pub fn recvfrom(fd: &HostFd, buf: &mut [u8]) -> Result<(usize, Option<SocketAddr>, bool), Errno> {
    // SAFETY: all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero msghdr is valid; fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut ss as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    loop {
        // SAFETY: `msg` points at live buffers for the duration of the call.
        let r = unsafe { libc::recvmsg(fd.0, &mut msg, 0) };
        match cvt_size(r) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => {
                let from = sockaddr_from_host(&ss, msg.msg_namelen);
                return Ok((n, from, msg.msg_flags & libc::MSG_TRUNC != 0));
            }
        }
    }
}

/// sendmsg(2) of a gather list, without SIGPIPE; `to` for unconnected datagrams.
///
/// # Errors
/// `EAGAIN` when the host buffer is full; the host's error otherwise, translated.
pub fn sendmsg(fd: &HostFd, bufs: &[&[u8]], to: Option<&SocketAddr>) -> Result<usize, Errno> {
    let mut iov: Vec<libc::iovec> = bufs
        .iter()
        .take(1024)
        .map(|b| libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    let addr = to.map(sockaddr_to_host);
    // SAFETY: all-zero msghdr is valid; fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some((ss, len)) = &addr {
        msg.msg_name = (ss as *const libc::sockaddr_storage) as *mut libc::c_void;
        msg.msg_namelen = *len;
    }
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    loop {
        // SAFETY: `msg` points at live buffers; the host only reads them.
        let r = unsafe { libc::sendmsg(fd.0, &msg, libc::MSG_NOSIGNAL) };
        match cvt_size(r) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// shutdown(2) with a host `how`.
///
/// # Errors
/// The host's error, translated.
pub fn shutdown(fd: &HostFd, how: c_int) -> Result<(), Errno> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::shutdown(fd.0, how) }).map(|_| ())
}

/// Readiness bits reported by [`Poller::wait`].
pub mod ev {
    /// Readable (or a connection to accept).
    pub const IN: u32 = libc::EPOLLIN as u32;
    /// Writable (or a connect finished).
    pub const OUT: u32 = libc::EPOLLOUT as u32;
    /// Error.
    pub const ERR: u32 = libc::EPOLLERR as u32;
    /// Hang-up.
    pub const HUP: u32 = libc::EPOLLHUP as u32;
    /// Peer shut down writing.
    pub const RDHUP: u32 = libc::EPOLLRDHUP as u32;
}

/// An epoll instance plus an eventfd that interrupts its wait.
pub struct Poller {
    ep: HostFd,
    wake: HostFd,
}

const WAKE_TOKEN: u64 = u64::MAX;

impl Poller {
    /// A new poller.
    ///
    /// # Errors
    /// The host's error, translated.
    pub fn new() -> Result<Poller, Errno> {
        // SAFETY: plain syscall.
        let ep = HostFd(cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?);
        // SAFETY: plain syscall.
        let wake = HostFd(cvt(unsafe {
            libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
        })?);
        let p = Poller { ep, wake };
        p.ctl(libc::EPOLL_CTL_ADD, p.wake.0, WAKE_TOKEN, ev::IN)?;
        Ok(p)
    }

    fn ctl(&self, op: c_int, fd: c_int, token: u64, events: u32) -> Result<(), Errno> {
        let mut e = libc::epoll_event { events, u64: token };
        // SAFETY: `e` is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.ep.0, op, fd, &mut e) }).map(|_| ())
    }

    /// Watch a host socket, edge-triggered, for reading, writing and hang-ups.
    ///
    /// # Errors
    /// The host's error, translated.
    pub fn add(&self, fd: &HostFd, token: u64) -> Result<(), Errno> {
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd.0,
            token,
            ev::IN | ev::OUT | ev::RDHUP | libc::EPOLLET as u32,
        )
    }

    /// Stop watching (closing the descriptor also does this).
    pub fn del(&self, fd: &HostFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd.0, 0, 0);
    }

    /// Interrupt a [`Poller::wait`] in another thread.
    pub fn wakeup(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64.
        unsafe {
            libc::write(self.wake.0, (&one as *const u64).cast(), 8);
        }
    }

    /// Wait for readiness (without the kernel lock); fills `out` with (token, bits).
    /// Returns false when woken by [`Poller::wakeup`] only.
    pub fn wait(&self, out: &mut Vec<(u64, u32)>) -> bool {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 256];
        out.clear();
        // SAFETY: `evs` has room for 256 events.
        let n = unsafe { libc::epoll_wait(self.ep.0, evs.as_mut_ptr(), evs.len() as c_int, -1) };
        if n <= 0 {
            return false;
        }
        let mut woken = false;
        for e in &evs[..n as usize] {
            let (token, bits) = (e.u64, e.events);
            if token == WAKE_TOKEN {
                let mut v: u64 = 0;
                // SAFETY: reads 8 bytes into a live u64.
                unsafe {
                    libc::read(self.wake.0, (&mut v as *mut u64).cast(), 8);
                }
                woken = true;
            } else {
                out.push((token, bits));
            }
        }
        !out.is_empty() || !woken
    }
}
