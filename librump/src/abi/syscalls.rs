//! `rump_sys_*`: the system calls of the virtual kernel, NetBSD ABI in and out.
//!
//! Every call returns -1 with a NetBSD errno in `errno` on failure (as rump kernels on
//! non-NetBSD hosts do), and `ENOSYS` before `rump_init()`. cbindgen turns this file into
//! `include/rump/rump_syscalls.h`.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_int, c_long, c_uint, c_ulong, c_void};
use std::time::Duration;

use super::boundary::{copyin, copyin_sockaddr, copyout, copyout_sockaddr, sys};
use super::boundary::{user_slice, user_slice_mut, ErrnoAbi, SaAbi};
use super::netbsd::{
    rump_fd_set, rump_ifconf, rump_ifreq, rump_iovec, rump_msghdr, rump_nfds_t, rump_pollfd,
    rump_sigset_t, rump_sockaddr, rump_socklen_t, rump_ssize_t, rump_timeval,
};
use crate::kern::errno::{Errno, KResult};
use crate::kern::kern_sysctl::CTL_MAXNAME;
use crate::kern::sys_generic::PollFd;
use crate::kern::Kernel;

/// Most iovec entries a call takes (IOV_MAX).
pub const IOV_MAX: usize = 1024;

/// The (address, length) pairs of a user iovec array, checked: a bad pointer is
/// `EFAULT`, too many entries or a total past `isize::MAX` is `EINVAL`.
///
/// # Safety
/// `iov` must point at `cnt` iovecs unless NULL or in the first page.
pub(crate) unsafe fn iov_parts(
    iov: *const rump_iovec,
    cnt: c_int,
) -> KResult<Vec<(*mut u8, usize)>> {
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
        if e.iov_len > 0 && (e.iov_base as usize) < 4096 {
            return Err(Errno::EFAULT);
        }
        v.push((e.iov_base.cast::<u8>(), e.iov_len));
    }
    Ok(v)
}

/// Shared views of the buffers to send (overlap is harmless for reading).
///
/// # Safety
/// Each part must be readable for its length during the call.
pub(crate) unsafe fn iov_ro<'a>(parts: &[(*mut u8, usize)]) -> KResult<Vec<&'a [u8]>> {
    // SAFETY: forwarded caller promise, pointers checked by iov_parts.
    parts
        .iter()
        .map(|&(p, n)| unsafe { user_slice(p, n) })
        .collect()
}

/// Receive into user buffers: directly when they do not overlap (two `&mut` to the
/// same bytes would be undefined behaviour), else through a bounce buffer copied out
/// piece by piece as a kernel's uiomove would.
///
/// # Safety
/// Each part must be writable for its length during the call.
pub(crate) unsafe fn with_iov_mut<R>(
    parts: &[(*mut u8, usize)],
    f: impl FnOnce(&mut [&mut [u8]]) -> KResult<(usize, R)>,
) -> KResult<(usize, R)> {
    let mut sorted: Vec<(usize, usize)> = parts
        .iter()
        .filter(|p| p.1 > 0)
        .map(|&(p, n)| (p as usize, n))
        .collect();
    sorted.sort_unstable();
    let disjoint = sorted.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0);
    if disjoint {
        // SAFETY: caller promise; the parts do not overlap, so the slices do not alias.
        let mut bufs: Vec<&mut [u8]> = parts
            .iter()
            .map(|&(p, n)| unsafe { user_slice_mut(p, n) })
            .collect::<KResult<_>>()?;
        return f(&mut bufs);
    }
    let total: usize = parts.iter().map(|p| p.1).sum();
    let mut tmp = vec![0u8; total.min(64 << 20)];
    let (n, r) = f(&mut [&mut tmp[..]])?;
    let mut done = 0;
    for &(p, len) in parts {
        if done == n {
            break;
        }
        let k = len.min(n - done);
        // SAFETY: caller promise: `len` writable bytes at `p`; `ptr::copy` tolerates
        // the overlap between parts.
        unsafe { std::ptr::copy(tmp.as_ptr().add(done), p, k) };
        done += k;
    }
    Ok((n, r))
}

/// Run select over fd sets copied in from user memory (the same set may be passed
/// twice), and copy the results back.
///
/// # Safety
/// Each non-NULL set must be `bytes` long and writable.
pub(crate) unsafe fn select_sets(
    ptrs: [*mut u8; 3],
    bytes: usize,
    f: impl FnOnce([Option<&mut [u8]>; 3]) -> KResult<i32>,
) -> KResult<i32> {
    let mut owned: [Option<Vec<u8>>; 3] = [None, None, None];
    for (i, &p) in ptrs.iter().enumerate() {
        if !p.is_null() {
            // SAFETY: caller promise.
            owned[i] = Some(unsafe { user_slice(p, bytes)? }.to_vec());
        }
    }
    let [a, b, c] = &mut owned;
    let n = f([a.as_deref_mut(), b.as_deref_mut(), c.as_deref_mut()])?;
    for (i, &p) in ptrs.iter().enumerate() {
        if let Some(v) = &owned[i] {
            // SAFETY: caller promise: `bytes` writable bytes at `p`.
            unsafe { std::ptr::copy(v.as_ptr(), p, v.len()) };
        }
    }
    Ok(n)
}

/// Shared body of the send calls.
///
/// # Safety
/// Pointers as the calls document.
pub(crate) unsafe fn do_send(
    k: &Kernel,
    s: c_int,
    bufs: &[&[u8]],
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
    k.sendmsg(s, bufs, to.as_ref(), flags)
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
        let parts = unsafe { iov_parts(m.msg_iov, m.msg_iovlen)? };
        // SAFETY: as above.
        let bufs = unsafe { iov_ro(&parts)? };
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
        let parts = unsafe { iov_parts(m.msg_iov, m.msg_iovlen)? };
        // SAFETY: as above.
        let (_, r) =
            unsafe { with_iov_mut(&parts, |bufs| k.recvmsg(s, bufs, flags).map(|r| (r.len, r)))? };
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
        let parts = unsafe { iov_parts(iov, iovcnt)? };
        // SAFETY: as above.
        let (n, ()) =
            unsafe { with_iov_mut(&parts, |bufs| Ok((k.recvmsg(fd, bufs, 0)?.len, ())))? };
        Ok(n)
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
        let parts = unsafe { iov_parts(iov, iovcnt)? };
        // SAFETY: as above.
        let v = unsafe { iov_ro(&parts)? };
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

/// SIOCGIFCONF (NetBSD: net/if.c ifconf): a `struct ifreq` with the name and the
/// `sockaddr_in` in `ifr_addr` for every inet address of every interface, and one with
/// an empty address for an interface without any. Entries that do not fit whole are
/// left out and `ifc_len` becomes the bytes written; with a NULL `ifc_buf`, `ifc_len`
/// becomes the bytes needed. Unlike NetBSD, no `AF_LINK` entries are listed.
///
/// # Errors
/// `EFAULT` for a bad pointer, `EINVAL` for a negative `ifc_len`.
///
/// # Safety
/// `ifc` must point at a `struct ifconf` whose `ifc_buf`, unless NULL, has `ifc_len`
/// writable bytes, unless NULL or in the first page.
unsafe fn ifconf(k: &Kernel, ifc: *mut rump_ifconf) -> KResult<()> {
    // SAFETY: caller promise: a struct ifconf at `ifc`.
    let mut c = unsafe { copyin(ifc)? };
    let entries = k.lock().ifconf();
    let sz = std::mem::size_of::<rump_ifreq>();
    // SAFETY: both members of the union are pointers; reading either is reading it.
    let req = unsafe { c.ifc_ifcu.ifcu_req };
    if req.is_null() {
        c.ifc_len = i32::try_from(entries.len() * sz).map_err(|_| Errno::EINVAL)?;
        // SAFETY: caller promise.
        return unsafe { copyout(ifc, c) };
    }
    let space = usize::try_from(c.ifc_len).map_err(|_| Errno::EINVAL)?;
    let n = entries.len().min(space / sz);
    for (i, (name, addr)) in entries.iter().take(n).enumerate() {
        let mut r = rump_ifreq::new(name.as_bytes()).map_err(|_| Errno::ENAMETOOLONG)?;
        if let Some(a) = addr {
            let sin = &mut r.ifru_bytes_mut()[..16];
            sin[0] = 16;
            sin[1] = super::netbsd::RUMP_AF_INET as u8;
            sin[4..8].copy_from_slice(&a.octets());
        }
        // SAFETY: caller promise: `ifc_len` writable bytes at `ifc_buf`, which hold
        // entry `i` since (i + 1) * sz <= ifc_len.
        unsafe { copyout(req.wrapping_add(i), r)? };
    }
    c.ifc_len = (n * sz) as c_int;
    // SAFETY: caller promise.
    unsafe { copyout(ifc, c) }
}

/// ioctl(2); the size of `*data` is encoded in `com` (NetBSD's IOCPARM_LEN).
/// SIOCGIFCONF, whose argument points on to a buffer, is handled here for every socket.
#[no_mangle]
pub unsafe extern "C" fn rump_sys_ioctl(fd: c_int, com: c_ulong, data: *mut c_void) -> c_int {
    sys("ioctl", ErrnoAbi::NetBsd, |k| {
        if com == super::netbsd::RUMP_SIOCGIFCONF {
            k.getsock_check(fd)?;
            // SAFETY: caller promise: a struct ifconf at `data`.
            return unsafe { ifconf(k, data.cast()) };
        }
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
        // SAFETY: caller promise: each non-NULL set covers `nd` descriptors.
        unsafe {
            select_sets([inp.cast(), ou.cast(), ex.cast()], bytes, |sets| {
                do_select(
                    k,
                    nd,
                    sets,
                    timeout,
                    nb::RUMP_POLLIN | nb::RUMP_POLLRDNORM,
                    nb::RUMP_POLLOUT | nb::RUMP_POLLWRNORM,
                    nb::RUMP_POLLPRI | nb::RUMP_POLLRDBAND,
                )
            })
        }
    })
}

/// Largest old value `__sysctl` passes through its bounce buffer: far more than any
/// leaf holds (strings are at most 256 bytes).
const SYSCTL_OLD_MAX: usize = 64 * 1024;

/// Largest new value `__sysctl` reads. A longer one fits no leaf, so it is not read:
/// the tree sees that many zero bytes instead and refuses them with the leaf's own
/// error (`EINVAL` for the size, `EPERM` for a read-only leaf, `ENOENT`, ...).
const SYSCTL_NEW_MAX: usize = 64 * 1024;

/// __sysctl(2) (NetBSD: sys___sysctl): read the variable an integer name of `namelen`
/// components leads to into `oldp` and replace it with the `newlen` bytes at `newp`.
/// `*oldlenp` is the room at `oldp` on entry and the value's length on return, also
/// when the call fails; with `oldp` NULL only the length is reported. A short buffer
/// gets what fits and `ENOMEM`. Errors: `EINVAL` for `namelen` 0 or above
/// `RUMP_CTL_MAXNAME`, an interior node or a new value of the wrong size; `EFAULT` for
/// a bad pointer (a NULL `name`); `ENOENT` for an unknown name; `EPERM` for a write to
/// a read-only variable.
#[no_mangle]
pub unsafe extern "C" fn rump_sys___sysctl(
    name: *const c_int,
    namelen: c_uint,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *const c_void,
    newlen: usize,
) -> c_int {
    sys("__sysctl", ErrnoAbi::NetBsd, |k| {
        let oldlen = if oldlenp.is_null() {
            0
        } else {
            // SAFETY: caller promise: a size_t at `oldlenp`.
            unsafe { copyin(oldlenp)? }
        };
        if namelen < 1 || namelen as usize > CTL_MAXNAME {
            return Err(Errno::EINVAL);
        }
        // SAFETY: caller promise: `namelen` ints at `name`.
        let raw = unsafe { user_slice(name.cast::<u8>(), namelen as usize * 4)? };
        let mib: Vec<i32> = raw
            .chunks_exact(4)
            .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let new: Option<Vec<u8>> = if newp.is_null() {
            None
        } else if newlen > SYSCTL_NEW_MAX {
            Some(vec![0; SYSCTL_NEW_MAX + 1])
        } else {
            // SAFETY: caller promise: `newlen` bytes at `newp`.
            Some(unsafe { user_slice(newp.cast(), newlen)? }.to_vec())
        };
        // The old value goes through a bounce buffer that starts as a copy of the
        // caller's, so bytes the tree does not write stay as they were.
        let room = if oldp.is_null() {
            0
        } else {
            oldlen.min(SYSCTL_OLD_MAX)
        };
        // SAFETY: caller promise: `*oldlenp` bytes at `oldp`, of which `room` are read.
        let mut bounce = unsafe { user_slice(oldp.cast::<u8>(), room)? }.to_vec();
        let mut len = oldlen;
        let old = (!oldp.is_null()).then_some(&mut bounce[..]);
        let r = k.lock().sysctl_rw(&mib, old, &mut len, new.as_deref());
        if room > 0 {
            let n = room.min(len);
            // SAFETY: caller promise: `room` writable bytes at `oldp`.
            unsafe { user_slice_mut(oldp.cast::<u8>(), n)? }.copy_from_slice(&bounce[..n]);
        }
        // The length goes back even when the call failed; its own error counts only
        // when there is no other.
        let c = if oldlenp.is_null() {
            Ok(())
        } else {
            // SAFETY: caller promise.
            unsafe { copyout(oldlenp, len) }
        };
        r.and(c)
    })
}
