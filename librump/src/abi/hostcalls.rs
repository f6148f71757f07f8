//! Host-ABI entry points: the socket calls with the Linux host's structs, constants and
//! errno values, translated by [`super::hostabi`] into the virtual kernel's NetBSD ABI.
//!
//! These are what the paper's Figure 4 macros (`include/rump/rumpmacro.h`) call, so that
//! a host program keeps its `struct sockaddr_in` and `AF_INET` and runs on the virtual
//! kernel; the default kernel boots on first use from `RUMP_NET`. The LD_PRELOAD hijack
//! uses the same functions. Descriptors are the virtual kernel's own numbers.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_int, c_long, c_ulong, c_void};
use std::time::Duration;

use super::boundary::{copyin, copyin_sockaddr, copyout, copyout_sockaddr, sys};
use super::boundary::{user_slice, user_slice_mut, ErrnoAbi, SaAbi};
use super::hostabi as h;
use super::netbsd as nb;
use super::syscalls::{do_poll, do_select, do_send};
use crate::kern::errno::{Errno, KResult};
use crate::kern::sys_generic::PollFd;

const H: ErrnoAbi = ErrnoAbi::Host;

unsafe fn host_iov(iov: *const libc::iovec, cnt: c_int) -> KResult<Vec<(*mut u8, usize)>> {
    // Linux's struct iovec has the same layout as NetBSD's.
    // SAFETY: forwarded caller promise; the layouts are identical.
    unsafe { super::syscalls::iov_parts(iov.cast(), cnt) }
}

/// socket(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    sys("socket", H, |k| {
        let d = h::af_to_netbsd(domain).ok_or(Errno::EAFNOSUPPORT)?;
        let t = h::socktype_to_netbsd(ty).ok_or(Errno::EINVAL)?;
        k.socket(d, t, protocol)
    })
}

/// bind(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_bind(
    s: c_int,
    name: *const libc::sockaddr,
    len: libc::socklen_t,
) -> c_int {
    sys("bind", H, |k| {
        k.getsock_check(s)?;
        // SAFETY: caller promise: `len` bytes at `name`.
        let a = unsafe { copyin_sockaddr(name.cast(), len, SaAbi::Host)? };
        k.bind(s, &a)
    })
}

/// connect(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_connect(
    s: c_int,
    name: *const libc::sockaddr,
    len: libc::socklen_t,
) -> c_int {
    sys("connect", H, |k| {
        k.getsock_check(s)?;
        // SAFETY: caller promise: `len` bytes at `name`.
        let a = unsafe { copyin_sockaddr(name.cast(), len, SaAbi::Host)? };
        k.connect(s, &a)
    })
}

/// listen(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_listen(s: c_int, backlog: c_int) -> c_int {
    sys("listen", H, |k| k.listen(s, backlog))
}

unsafe fn accept_common(
    s: c_int,
    name: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    sys("accept4", H, |k| {
        let f = h::socktype_to_netbsd(flags).ok_or(Errno::EINVAL)?;
        if f & !nb::RUMP_SOCK_FLAGS_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        // Linux accept never inherits O_NONBLOCK.
        let (fd, peer) = k.accept(s, Some(f))?;
        // SAFETY: caller promise: `*len` bytes at `name`.
        if let Err(e) = unsafe { copyout_sockaddr(&peer, name.cast(), len, SaAbi::Host) } {
            let _ = k.close(fd);
            return Err(e);
        }
        Ok(fd)
    })
}

/// accept(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_accept(
    s: c_int,
    name: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { accept_common(s, name, len, 0) }
}

/// accept4(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_accept4(
    s: c_int,
    name: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: same contract.
    unsafe { accept_common(s, name, len, flags) }
}

/// getsockname(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_getsockname(
    s: c_int,
    name: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    sys("getsockname", H, |k| {
        if name.is_null() {
            return Err(Errno::EFAULT);
        }
        let a = k.getsockname(s)?;
        // SAFETY: caller promise.
        unsafe { copyout_sockaddr(&a, name.cast(), len, SaAbi::Host) }
    })
}

/// getpeername(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_getpeername(
    s: c_int,
    name: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    sys("getpeername", H, |k| {
        if name.is_null() {
            return Err(Errno::EFAULT);
        }
        let a = k.getpeername(s)?;
        // SAFETY: caller promise.
        unsafe { copyout_sockaddr(&a, name.cast(), len, SaAbi::Host) }
    })
}

/// setsockopt(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_setsockopt(
    s: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: libc::socklen_t,
) -> c_int {
    sys("setsockopt", H, |k| {
        let (l, n) = h::sockopt_to_netbsd(level, name).ok_or(Errno::ENOPROTOOPT)?;
        if len > 0 && val.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: caller promise: `len` bytes at `val`.
        let v = unsafe { user_slice(val.cast(), len as usize)? };
        let v = h::sockopt_value_to_netbsd(l, n, v)?;
        k.setsockopt(s, l, n, &v)
    })
}

/// getsockopt(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_getsockopt(
    s: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    lenp: *mut libc::socklen_t,
) -> c_int {
    sys("getsockopt", H, |k| {
        let (l, n) = h::sockopt_to_netbsd(level, name).ok_or(Errno::ENOPROTOOPT)?;
        // SAFETY: caller promise: a length at `lenp`.
        let len = unsafe { copyin(lenp)? } as usize;
        let v = k.getsockopt(s, l, n)?;
        // (SO_ERROR's errno is translated to the host's number here too.)
        let v = h::sockopt_value_to_host(l, n, &v)?;
        let n = v.len().min(len);
        // SAFETY: caller promise: `len` writable bytes at `val`.
        let out = unsafe { user_slice_mut(val.cast(), n)? };
        out.copy_from_slice(&v[..n]);
        // SAFETY: caller promise.
        unsafe { copyout(lenp, n as libc::socklen_t) }
    })
}

/// sendto(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_sendto(
    s: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    to: *const libc::sockaddr,
    tolen: libc::socklen_t,
) -> isize {
    sys("sendto", H, |k| {
        let f = h::msgflags_to_netbsd(flags)?;
        // SAFETY: caller promise: `len` bytes at `buf`.
        let b = unsafe { user_slice(buf.cast(), len)? };
        let to = if to.is_null() {
            None
        } else {
            k.getsock_check(s)?;
            // SAFETY: caller promise: `tolen` bytes at `to`.
            Some(unsafe { copyin_sockaddr(to.cast(), tolen, SaAbi::Host)? })
        };
        k.sendmsg(s, &[b], to.as_ref(), f)
    })
}

/// send(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_send(
    s: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
) -> isize {
    // SAFETY: same contract.
    unsafe { rump_host_sendto(s, buf, len, flags, std::ptr::null(), 0) }
}

/// recvfrom(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_recvfrom(
    s: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    from: *mut libc::sockaddr,
    fromlen: *mut libc::socklen_t,
) -> isize {
    sys("recvfrom", H, |k| {
        let f = h::msgflags_to_netbsd(flags)?;
        // SAFETY: caller promise: `len` writable bytes at `buf`.
        let b = unsafe { user_slice_mut(buf.cast(), len)? };
        let r = k.recvmsg(s, &mut [b], f)?;
        if !from.is_null() {
            match r.from {
                // SAFETY: caller promise.
                Some(a) => unsafe { copyout_sockaddr(&a, from.cast(), fromlen, SaAbi::Host)? },
                // SAFETY: caller promise.
                None => unsafe { copyout(fromlen, 0)? },
            }
        }
        // Linux's MSG_TRUNC on recv returns the real datagram length; we return what
        // was copied, as BSD does.
        Ok(r.len)
    })
}

/// recv(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_recv(
    s: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
) -> isize {
    // SAFETY: same contract.
    unsafe {
        rump_host_recvfrom(
            s,
            buf,
            len,
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// sendmsg(2), host ABI; control messages are refused (`EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn rump_host_sendmsg(
    s: c_int,
    msg: *const libc::msghdr,
    flags: c_int,
) -> isize {
    sys("sendmsg", H, |k| {
        let f = h::msgflags_to_netbsd(flags)?;
        // SAFETY: caller promise: a msghdr at `msg`.
        let m = unsafe { copyin(msg)? };
        if m.msg_controllen > 0 {
            return Err(Errno::EINVAL);
        }
        let cnt = c_int::try_from(m.msg_iovlen).map_err(|_| Errno::EINVAL)?;
        // SAFETY: caller promise: the msghdr's iovecs are valid.
        let parts = unsafe { host_iov(m.msg_iov, cnt)? };
        // SAFETY: as above.
        let bufs = unsafe { super::syscalls::iov_ro(&parts)? };
        // SAFETY: caller promise: the msghdr's name is valid.
        unsafe {
            do_send(
                k,
                s,
                &bufs,
                m.msg_name as *const u8,
                m.msg_namelen,
                f,
                SaAbi::Host,
            )
        }
    })
}

/// recvmsg(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_recvmsg(
    s: c_int,
    msg: *mut libc::msghdr,
    flags: c_int,
) -> isize {
    sys("recvmsg", H, |k| {
        let f = h::msgflags_to_netbsd(flags)?;
        // SAFETY: caller promise: a msghdr at `msg`.
        let mut m = unsafe { copyin(msg)? };
        let cnt = c_int::try_from(m.msg_iovlen).map_err(|_| Errno::EINVAL)?;
        // SAFETY: caller promise: the msghdr's iovecs are valid.
        let parts = unsafe { host_iov(m.msg_iov, cnt)? };
        // SAFETY: as above.
        let (_, r) = unsafe {
            super::syscalls::with_iov_mut(&parts, |bufs| k.recvmsg(s, bufs, f).map(|r| (r.len, r)))?
        };
        if !m.msg_name.is_null() {
            match r.from {
                Some(a) => {
                    let mut len = m.msg_namelen;
                    // SAFETY: caller promise: `msg_namelen` bytes at `msg_name`.
                    unsafe { copyout_sockaddr(&a, m.msg_name.cast(), &mut len, SaAbi::Host)? };
                    m.msg_namelen = len;
                }
                None => m.msg_namelen = 0,
            }
        }
        m.msg_controllen = 0;
        m.msg_flags = h::msgflags_to_host(r.flags);
        // SAFETY: caller promise.
        unsafe { copyout(msg, m)? };
        Ok(r.len)
    })
}

/// shutdown(2), host ABI (SHUT_* agree).
#[no_mangle]
pub unsafe extern "C" fn rump_host_shutdown(s: c_int, how: c_int) -> c_int {
    sys("shutdown", H, |k| k.shutdown(s, how))
}

/// read(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_read(fd: c_int, buf: *mut c_void, len: usize) -> isize {
    sys("read", H, |k| {
        // SAFETY: caller promise: `len` writable bytes at `buf`.
        let b = unsafe { user_slice_mut(buf.cast(), len)? };
        k.read(fd, b)
    })
}

/// write(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_write(fd: c_int, buf: *const c_void, len: usize) -> isize {
    sys("write", H, |k| {
        // SAFETY: caller promise: `len` bytes at `buf`.
        let b = unsafe { user_slice(buf.cast(), len)? };
        k.write(fd, b)
    })
}

/// close(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_close(fd: c_int) -> c_int {
    sys("close", H, |k| k.close(fd))
}

/// fcntl(2), host ABI: F_GETFL/F_SETFL with O_NONBLOCK, F_GETFD/F_SETFD, F_DUPFD.
#[no_mangle]
pub unsafe extern "C" fn rump_host_fcntl(fd: c_int, cmd: c_int, arg: c_long) -> c_int {
    sys("fcntl", H, |k| {
        let c = h::fcntl_cmd_to_netbsd(cmd).ok_or(Errno::EINVAL)?;
        let a = if c == nb::RUMP_F_SETFL {
            i64::from(h::oflags_to_netbsd(arg as c_int))
        } else {
            arg
        };
        let r = k.fcntl(fd, c, a)?;
        Ok(if c == nb::RUMP_F_GETFL {
            h::oflags_to_host(r)
        } else {
            r
        })
    })
}

/// ioctl(2), host ABI: FIONBIO and FIONREAD.
#[no_mangle]
pub unsafe extern "C" fn rump_host_ioctl(fd: c_int, req: c_ulong, data: *mut c_void) -> c_int {
    sys("ioctl", H, |k| {
        let r = h::ioctl_to_netbsd(req).ok_or(Errno::ENOTTY)?;
        // The NetBSD encoding says how big the argument is (0 for FIOCLEX and friends,
        // whose argument may be NULL).
        let len = ((r >> 16) & 0x1fff) as usize;
        // SAFETY: caller promise: `len` bytes at `data` for this request.
        let d = unsafe { user_slice_mut(data.cast(), len)? };
        k.ioctl(fd, r, d)
    })
}

/// poll(2), host ABI.
#[no_mangle]
pub unsafe extern "C" fn rump_host_poll(
    fds: *mut libc::pollfd,
    nfds: libc::nfds_t,
    timeout: c_int,
) -> c_int {
    sys("poll", H, |k| {
        if nfds as usize > k.lock().fd.maxfiles {
            return Err(Errno::EINVAL);
        }
        let mut v = Vec::with_capacity(nfds as usize);
        for i in 0..nfds as usize {
            // SAFETY: caller promise: `nfds` pollfds at `fds`.
            let p = unsafe { copyin(fds.wrapping_add(i))? };
            v.push(PollFd {
                fd: p.fd,
                events: h::poll_to_netbsd(p.events),
                revents: 0,
            });
        }
        let n = do_poll(k, &mut v, timeout)?;
        for (i, p) in v.iter().enumerate() {
            let hp = fds.wrapping_add(i);
            // SAFETY: caller promise.
            let mut cur = unsafe { copyin(hp)? };
            cur.revents = h::poll_revents_to_host(p.revents, cur.events);
            // SAFETY: caller promise.
            unsafe { copyout(hp, cur)? };
        }
        Ok(n)
    })
}

/// select(2), host ABI (glibc's 1024-bit fd_set).
#[no_mangle]
pub unsafe extern "C" fn rump_host_select(
    nd: c_int,
    inp: *mut libc::fd_set,
    ou: *mut libc::fd_set,
    ex: *mut libc::fd_set,
    tv: *mut libc::timeval,
) -> c_int {
    sys("select", H, |k| {
        if !(0..=libc::FD_SETSIZE as c_int).contains(&nd) {
            return Err(Errno::EINVAL);
        }
        let bytes = (nd as usize).div_ceil(64) * 8;
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
        // SAFETY: caller promise: each non-NULL set is a whole fd_set.
        unsafe {
            super::syscalls::select_sets([inp.cast(), ou.cast(), ex.cast()], bytes, |sets| {
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
