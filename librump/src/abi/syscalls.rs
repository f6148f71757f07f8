//! `rump_sys_*`: the system calls of the virtual kernel, NetBSD ABI in and out.
//!
//! Every call returns -1 with a NetBSD errno in `errno` on failure (as rump kernels on
//! non-NetBSD hosts do), and `ENOSYS` before `rump_init()`. cbindgen turns this file into
//! `include/rump/rump_syscalls.h`.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_int, c_long, c_ulong, c_void};
use std::time::Duration;

use super::boundary::{copyin, copyin_sockaddr, copyout, copyout_sockaddr, sys};
use super::boundary::{user_slice, user_slice_mut, ErrnoAbi, SaAbi};
use super::netbsd::{
    rump_fd_set, rump_iovec, rump_msghdr, rump_nfds_t, rump_pollfd, rump_sigset_t, rump_sockaddr,
    rump_socklen_t, rump_ssize_t, rump_timeval,
};
use crate::kern::errno::{Errno, KResult};
use crate::kern::sys_generic::PollFd;
use crate::kern::Kernel;

/// Most iovec entries a call takes (IOV_MAX).
pub const IOV_MAX: usize = 1024;

/// Build slices from a user iovec array.
///
/// # Safety
/// `iov` must point at `cnt` iovecs whose buffers are valid, unless NULL.
pub(crate) unsafe fn iov_in<'a>(iov: *const rump_iovec, cnt: c_int) -> KResult<Vec<&'a mut [u8]>> {
    if cnt < 0 || cnt as usize > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(cnt as usize);
    let mut total = 0usize;
    for i in 0..cnt as usize {
        // SAFETY: caller promise: `cnt` iovecs at `iov`.
        let e = unsafe { copyin(iov.wrapping_add(i))? };
        total = total.checked_add(e.iov_len).ok_or(Errno::EINVAL)?;
        if total > isize::MAX as usize {
            return Err(Errno::EINVAL);
        }
        // SAFETY: caller promise: each iovec describes a valid buffer.
        v.push(unsafe { user_slice_mut(e.iov_base.cast(), e.iov_len)? });
    }
    Ok(v)
}

/// Shared body of the send calls.
///
/// # Safety
/// Pointers as the calls document.
pub(crate) unsafe fn do_send(
    k: &Kernel,
    s: c_int,
    bufs: &[&mut [u8]],
    to: *const u8,
    tolen: u32,
    flags: c_int,
    abi: SaAbi,
) -> KResult<usize> {
    k.getsock_check(s)?;
    let to = if to.is_null() {
        None
    } else {
        // SAFETY: forwarded caller promise.
        Some(unsafe { copyin_sockaddr(to, tolen, abi)? })
    };
    let iov: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
    k.sendmsg(s, &iov, to.as_ref(), flags)
}

/// Shared body of poll.
pub(crate) fn do_poll(k: &Kernel, fds: &mut [PollFd], timeout_ms: c_int) -> KResult<i32> {
    let timeout = if timeout_ms < 0 {
        None
    } else {
        Some(Duration::from_millis(timeout_ms as u64))
    };
    k.poll(fds, timeout).map(|n| n as i32)
}

/// Shared body of select over byte-addressed fd sets (NetBSD's and Linux's fd_set
/// agree bit for bit on a little-endian host).
pub(crate) fn do_select(
    k: &Kernel,
    nd: c_int,
    mut sets: [Option<&mut [u8]>; 3],
    timeout: Option<Duration>,
    poll_in: i16,
    poll_out: i16,
    poll_pri: i16,
) -> KResult<i32> {
    if nd < 0 {
        return Err(Errno::EINVAL);
    }
    let mut pfds: Vec<PollFd> = Vec::new();
    let wants = [poll_in, poll_out, poll_pri];
    for fd in 0..nd as usize {
        let mut ev = 0i16;
        for (i, set) in sets.iter().enumerate() {
            if let Some(b) = set {
                if b[fd / 8] & (1 << (fd % 8)) != 0 {
                    ev |= wants[i];
                }
            }
        }
        if ev != 0 {
            pfds.push(PollFd {
                fd: fd as i32,
                events: ev,
                revents: 0,
            });
        }
    }
    {
        let g = k.lock();
        if pfds.iter().any(|p| g.fd.get(p.fd).is_err()) {
            return Err(Errno::EBADF);
        }
    }
    k.poll(&mut pfds, timeout)?;
    for b in sets.iter_mut().flatten() {
        b.fill(0);
    }
    let mut n = 0;
    for p in &pfds {
        // Errors and hang-ups make a descriptor readable/writable for select.
        let err = p.revents & (super::netbsd::RUMP_POLLERR | super::netbsd::RUMP_POLLHUP) != 0;
        for (i, set) in sets.iter_mut().enumerate() {
            if let Some(b) = set {
                let hit = p.revents & wants[i] != 0 || (err && i < 2 && p.events & wants[i] != 0);
                if hit {
                    b[p.fd as usize / 8] |= 1 << (p.fd % 8);
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// socket(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    sys("socket", ErrnoAbi::NetBsd, |k| {
        k.socket(domain, ty, protocol)
    })
}

/// socketpair(2): no domain has socket pairs yet; always -1 (`EOPNOTSUPP`).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_socketpair(
    domain: c_int,
    ty: c_int,
    protocol: c_int,
    sv: *mut c_int,
) -> c_int {
    sys("socketpair", ErrnoAbi::NetBsd, |k| {
        let (a, b) = k.socketpair(domain, ty, protocol)?;
        // SAFETY: caller promise: two ints at `sv`.
        unsafe {
            copyout(sv, a)?;
            copyout(sv.wrapping_add(1), b)
        }
    })
}

/// bind(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_bind(
    s: c_int,
    name: *const rump_sockaddr,
    namelen: rump_socklen_t,
) -> c_int {
    sys("bind", ErrnoAbi::NetBsd, |k| {
        k.getsock_check(s)?;
        // SAFETY: caller promise: `namelen` bytes at `name`.
        let a = unsafe { copyin_sockaddr(name.cast(), namelen, SaAbi::NetBsd)? };
        k.bind(s, &a)
    })
}

/// listen(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_listen(s: c_int, backlog: c_int) -> c_int {
    sys("listen", ErrnoAbi::NetBsd, |k| k.listen(s, backlog))
}

/// accept(2): the new socket inherits the listener's non-blocking mode (BSD).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_accept(
    s: c_int,
    name: *mut rump_sockaddr,
    anamelen: *mut rump_socklen_t,
) -> c_int {
    sys("accept", ErrnoAbi::NetBsd, |k| {
        let (fd, peer) = k.accept(s, None)?;
        // SAFETY: caller promise: `*anamelen` bytes at `name`.
        if let Err(e) = unsafe { copyout_sockaddr(&peer, name.cast(), anamelen, SaAbi::NetBsd) } {
            let _ = k.close(fd);
            return Err(e);
        }
        Ok(fd)
    })
}

/// paccept(2): accept with `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags; the signal mask is
/// accepted and ignored (the virtual process gets no signals).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_paccept(
    s: c_int,
    name: *mut rump_sockaddr,
    anamelen: *mut rump_socklen_t,
    mask: *const rump_sigset_t,
    flags: c_int,
) -> c_int {
    let _ = mask;
    sys("paccept", ErrnoAbi::NetBsd, |k| {
        let (fd, peer) = k.accept(s, Some(flags))?;
        // SAFETY: caller promise: `*anamelen` bytes at `name`.
        if let Err(e) = unsafe { copyout_sockaddr(&peer, name.cast(), anamelen, SaAbi::NetBsd) } {
            let _ = k.close(fd);
            return Err(e);
        }
        Ok(fd)
    })
}

/// accept4(2), NetBSD's spelling of paccept without a mask.
#[no_mangle]
pub unsafe extern "C" fn rump_sys_accept4(
    s: c_int,
    name: *mut rump_sockaddr,
    anamelen: *mut rump_socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: same contract.
    unsafe { rump_sys_paccept(s, name, anamelen, std::ptr::null(), flags) }
}

/// connect(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_connect(
    s: c_int,
    name: *const rump_sockaddr,
    namelen: rump_socklen_t,
) -> c_int {
    sys("connect", ErrnoAbi::NetBsd, |k| {
        k.getsock_check(s)?;
        // SAFETY: caller promise: `namelen` bytes at `name`.
        let a = unsafe { copyin_sockaddr(name.cast(), namelen, SaAbi::NetBsd)? };
        k.connect(s, &a)
    })
}

/// getsockname(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_getsockname(
    s: c_int,
    name: *mut rump_sockaddr,
    namelen: *mut rump_socklen_t,
) -> c_int {
    sys("getsockname", ErrnoAbi::NetBsd, |k| {
        if name.is_null() {
            return Err(Errno::EFAULT);
        }
        let a = k.getsockname(s)?;
        // SAFETY: caller promise.
        unsafe { copyout_sockaddr(&a, name.cast(), namelen, SaAbi::NetBsd) }
    })
}

/// getpeername(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_getpeername(
    s: c_int,
    name: *mut rump_sockaddr,
    namelen: *mut rump_socklen_t,
) -> c_int {
    sys("getpeername", ErrnoAbi::NetBsd, |k| {
        if name.is_null() {
            return Err(Errno::EFAULT);
        }
        let a = k.getpeername(s)?;
        // SAFETY: caller promise.
        unsafe { copyout_sockaddr(&a, name.cast(), namelen, SaAbi::NetBsd) }
    })
}

/// setsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_setsockopt(
    s: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    valsize: rump_socklen_t,
) -> c_int {
    sys("setsockopt", ErrnoAbi::NetBsd, |k| {
        if valsize > 0 && val.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: caller promise: `valsize` bytes at `val`.
        let v = unsafe { user_slice(val.cast(), valsize as usize)? };
        k.setsockopt(s, level, name, v)
    })
}

/// getsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_getsockopt(
    s: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    avalsize: *mut rump_socklen_t,
) -> c_int {
    sys("getsockopt", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: a length at `avalsize`.
        let len = unsafe { copyin(avalsize)? } as usize;
        let v = k.getsockopt(s, level, name)?;
        let n = v.len().min(len);
        // SAFETY: caller promise: `len` writable bytes at `val`.
        let out = unsafe { user_slice_mut(val.cast(), n)? };
        out.copy_from_slice(&v[..n]);
        // SAFETY: caller promise.
        unsafe { copyout(avalsize, n as rump_socklen_t) }
    })
}

/// sendto(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_sendto(
    s: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    to: *const rump_sockaddr,
    tolen: rump_socklen_t,
) -> rump_ssize_t {
    sys("sendto", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `len` bytes at `buf`.
        let b = unsafe { user_slice(buf.cast(), len)? };
        let to = if to.is_null() {
            None
        } else {
            k.getsock_check(s)?;
            // SAFETY: caller promise: `tolen` bytes at `to`.
            Some(unsafe { copyin_sockaddr(to.cast(), tolen, SaAbi::NetBsd)? })
        };
        k.sendmsg(s, &[b], to.as_ref(), flags)
    })
}

/// recvfrom(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_recvfrom(
    s: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    from: *mut rump_sockaddr,
    fromlenaddr: *mut rump_socklen_t,
) -> rump_ssize_t {
    sys("recvfrom", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `len` writable bytes at `buf`.
        let b = unsafe { user_slice_mut(buf.cast(), len)? };
        let r = k.recvmsg(s, &mut [b], flags)?;
        if !from.is_null() {
            let a = match r.from {
                Some(a) => a,
                None => k
                    .getpeername(s)
                    .unwrap_or(crate::kern::sockaddr::SockAddr::Unspec),
            };
            if a == crate::kern::sockaddr::SockAddr::Unspec {
                // SAFETY: caller promise.
                unsafe { copyout(fromlenaddr, 0)? };
            } else {
                // SAFETY: caller promise.
                unsafe { copyout_sockaddr(&a, from.cast(), fromlenaddr, SaAbi::NetBsd)? };
            }
        }
        Ok(r.len)
    })
}

/// sendmsg(2); control messages are not supported by any protocol yet (`EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_sendmsg(
    s: c_int,
    msg: *const rump_msghdr,
    flags: c_int,
) -> rump_ssize_t {
    sys("sendmsg", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: a msghdr at `msg`.
        let m = unsafe { copyin(msg)? };
        if m.msg_controllen > 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: caller promise: the msghdr's iovecs are valid.
        let bufs = unsafe { iov_in(m.msg_iov, m.msg_iovlen)? };
        // SAFETY: caller promise: the msghdr's name is valid.
        unsafe {
            do_send(
                k,
                s,
                &bufs,
                m.msg_name as *const u8,
                m.msg_namelen,
                flags,
                SaAbi::NetBsd,
            )
        }
    })
}

/// recvmsg(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_recvmsg(
    s: c_int,
    msg: *mut rump_msghdr,
    flags: c_int,
) -> rump_ssize_t {
    sys("recvmsg", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: a msghdr at `msg`.
        let mut m = unsafe { copyin(msg)? };
        // SAFETY: caller promise: the msghdr's iovecs are valid.
        let mut bufs = unsafe { iov_in(m.msg_iov, m.msg_iovlen)? };
        let r = k.recvmsg(s, &mut bufs, flags)?;
        if !m.msg_name.is_null() {
            match r.from {
                Some(a) => {
                    let mut len = m.msg_namelen;
                    // SAFETY: caller promise: `msg_namelen` bytes at `msg_name`.
                    unsafe { copyout_sockaddr(&a, m.msg_name.cast(), &mut len, SaAbi::NetBsd)? };
                    m.msg_namelen = len;
                }
                None => m.msg_namelen = 0,
            }
        }
        m.msg_controllen = 0;
        m.msg_flags = r.flags;
        // SAFETY: caller promise.
        unsafe { copyout(msg, m)? };
        Ok(r.len)
    })
}

/// read(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_read(fd: c_int, buf: *mut c_void, nbyte: usize) -> rump_ssize_t {
    sys("read", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `nbyte` writable bytes at `buf`.
        let b = unsafe { user_slice_mut(buf.cast(), nbyte)? };
        k.read(fd, b)
    })
}

/// write(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_write(
    fd: c_int,
    buf: *const c_void,
    nbyte: usize,
) -> rump_ssize_t {
    sys("write", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `nbyte` bytes at `buf`.
        let b = unsafe { user_slice(buf.cast(), nbyte)? };
        k.write(fd, b)
    })
}

/// readv(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_readv(
    fd: c_int,
    iov: *const rump_iovec,
    iovcnt: c_int,
) -> rump_ssize_t {
    sys("readv", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `iovcnt` valid iovecs.
        let mut bufs = unsafe { iov_in(iov, iovcnt)? };
        Ok(k.recvmsg(fd, &mut bufs, 0)?.len)
    })
}

/// writev(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_writev(
    fd: c_int,
    iov: *const rump_iovec,
    iovcnt: c_int,
) -> rump_ssize_t {
    sys("writev", ErrnoAbi::NetBsd, |k| {
        // SAFETY: caller promise: `iovcnt` valid iovecs.
        let bufs = unsafe { iov_in(iov, iovcnt)? };
        let v: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
        k.sendmsg(fd, &v, None, 0)
    })
}

/// shutdown(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_shutdown(s: c_int, how: c_int) -> c_int {
    sys("shutdown", ErrnoAbi::NetBsd, |k| k.shutdown(s, how))
}

/// close(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_close(fd: c_int) -> c_int {
    sys("close", ErrnoAbi::NetBsd, |k| k.close(fd))
}

/// dup(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_dup(fd: c_int) -> c_int {
    sys("dup", ErrnoAbi::NetBsd, |k| k.dup(fd))
}

/// dup2(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_dup2(from: c_int, to: c_int) -> c_int {
    sys("dup2", ErrnoAbi::NetBsd, |k| k.dup2(from, to))
}

/// fcntl(2). C cannot be given a variadic Rust function, so the argument is explicit:
/// pass 0 for commands that take none.
#[no_mangle]
pub unsafe extern "C" fn rump_sys_fcntl(fd: c_int, cmd: c_int, arg: c_long) -> c_int {
    sys("fcntl", ErrnoAbi::NetBsd, |k| k.fcntl(fd, cmd, arg))
}

/// ioctl(2); the size of `*data` is encoded in `com` (NetBSD's IOCPARM_LEN).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_ioctl(fd: c_int, com: c_ulong, data: *mut c_void) -> c_int {
    sys("ioctl", ErrnoAbi::NetBsd, |k| {
        let len = ((com >> 16) & 0x1fff) as usize;
        // SAFETY: caller promise: `data` has the size the request encodes.
        let d = unsafe { user_slice_mut(data.cast(), len)? };
        k.ioctl(fd, com, d)
    })
}

/// poll(2).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_poll(
    fds: *mut rump_pollfd,
    nfds: rump_nfds_t,
    timeout: c_int,
) -> c_int {
    sys("poll", ErrnoAbi::NetBsd, |k| {
        if nfds as usize > k.lock().fd.maxfiles {
            return Err(Errno::EINVAL);
        }
        let mut v = Vec::with_capacity(nfds as usize);
        for i in 0..nfds as usize {
            // SAFETY: caller promise: `nfds` pollfds at `fds`.
            let p = unsafe { copyin(fds.wrapping_add(i))? };
            v.push(PollFd {
                fd: p.fd,
                events: p.events,
                revents: 0,
            });
        }
        let n = do_poll(k, &mut v, timeout)?;
        for (i, p) in v.iter().enumerate() {
            // SAFETY: caller promise.
            unsafe {
                copyout(
                    fds.wrapping_add(i),
                    rump_pollfd {
                        fd: p.fd,
                        events: p.events,
                        revents: p.revents,
                    },
                )?
            };
        }
        Ok(n)
    })
}

/// select(2) with NetBSD's `fd_set` (32-bit masks; sets may be larger than
/// `RUMP_FD_SETSIZE` when `nd` says so).
#[no_mangle]
pub unsafe extern "C" fn rump_sys_select(
    nd: c_int,
    inp: *mut rump_fd_set,
    ou: *mut rump_fd_set,
    ex: *mut rump_fd_set,
    tv: *mut rump_timeval,
) -> c_int {
    sys("select", ErrnoAbi::NetBsd, |k| {
        if nd < 0 {
            return Err(Errno::EINVAL);
        }
        let nd = nd.min(k.lock().fd.maxfiles as c_int);
        let bytes = (nd as usize).div_ceil(32) * 4;
        let set = |p: *mut rump_fd_set| -> KResult<Option<&mut [u8]>> {
            if p.is_null() {
                Ok(None)
            } else {
                // SAFETY: caller promise: a set covering `nd` descriptors at `p`.
                Ok(Some(unsafe { user_slice_mut(p.cast(), bytes)? }))
            }
        };
        let timeout = if tv.is_null() {
            None
        } else {
            // SAFETY: caller promise: a timeval at `tv`.
            let t = unsafe { copyin(tv)? };
            if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
                return Err(Errno::EINVAL);
            }
            Some(Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64))
        };
        use super::netbsd as nb;
        do_select(
            k,
            nd,
            [set(inp)?, set(ou)?, set(ex)?],
            timeout,
            nb::RUMP_POLLIN | nb::RUMP_POLLRDNORM,
            nb::RUMP_POLLOUT | nb::RUMP_POLLWRNORM,
            nb::RUMP_POLLPRI | nb::RUMP_POLLRDBAND,
        )
    })
}
