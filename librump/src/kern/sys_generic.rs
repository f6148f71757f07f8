//! Descriptor calls that are not socket specific (NetBSD: sys_generic.c, sys_descrip.c,
//! sys_select.c, sys_socket.c): read/write, close/dup, fcntl, ioctl, poll.

use std::time::{Duration, Instant};

use super::descrip::FileKind;
use super::errno::{Errno, KResult};
use super::kern_synch::Chan;
use super::kernel::Kernel;
use super::uipc_socket::SS_NBIO;
use super::uipc_syscalls::getsock;
use crate::abi::netbsd as nb;

/// One entry of a poll set (`struct pollfd` in Rust terms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// Descriptor; negative entries are ignored.
    pub fd: i32,
    /// `POLL*` events wanted (NetBSD values).
    pub events: i16,
    /// Events that happened.
    pub revents: i16,
}

const POLLIN_SET: i16 = nb::RUMP_POLLIN | nb::RUMP_POLLRDNORM;
const POLLOUT_SET: i16 = nb::RUMP_POLLOUT | nb::RUMP_POLLWRNORM;

impl Kernel {
    /// read(2): a receive with no flags.
    ///
    /// # Errors
    /// As [`Kernel::recvmsg`].
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> KResult<usize> {
        Ok(self.recvmsg(fd, &mut [buf], 0)?.len)
    }

    /// write(2): a send with no flags.
    ///
    /// # Errors
    /// As [`Kernel::sendmsg`].
    pub fn write(&self, fd: i32, buf: &[u8]) -> KResult<usize> {
        self.sendmsg(fd, &[buf], None, 0)
    }

    /// close(2).
    ///
    /// # Errors
    /// `EBADF`.
    pub fn close(&self, fd: i32) -> KResult<()> {
        let mut g = self.lock();
        if let Some(f) = g.fd.close(fd)? {
            self.closef(&mut g, f);
        }
        Ok(())
    }

    /// dup(2).
    ///
    /// # Errors
    /// `EBADF`, `EMFILE`.
    pub fn dup(&self, fd: i32) -> KResult<i32> {
        self.lock().fd.dup(fd, 0, false)
    }

    /// dup2(2).
    ///
    /// # Errors
    /// `EBADF`.
    pub fn dup2(&self, from: i32, to: i32) -> KResult<i32> {
        let mut g = self.lock();
        if let Some(f) = g.fd.dup2(from, to)? {
            self.closef(&mut g, f);
        }
        Ok(to)
    }

    /// fcntl(2) with NetBSD commands and flags.
    ///
    /// # Errors
    /// `EBADF`, `EINVAL` (unknown command or bad argument), `EMFILE`.
    pub fn fcntl(&self, fd: i32, cmd: i32, arg: i64) -> KResult<i32> {
        let mut g = self.lock();
        let kind = g.fd.get(fd)?;
        match cmd {
            nb::RUMP_F_DUPFD | nb::RUMP_F_DUPFD_CLOEXEC => {
                let min = i32::try_from(arg).map_err(|_| Errno::EINVAL)?;
                g.fd.dup(fd, min, cmd == nb::RUMP_F_DUPFD_CLOEXEC)
            }
            nb::RUMP_F_GETFD => Ok(i32::from(g.fd.cloexec(fd)?)),
            nb::RUMP_F_SETFD => {
                g.fd.set_cloexec(fd, arg & i64::from(nb::RUMP_FD_CLOEXEC) != 0)?;
                Ok(0)
            }
            nb::RUMP_F_GETFL => match kind {
                FileKind::Socket(so) => {
                    let nbio = g.so(so).so_state & SS_NBIO != 0;
                    Ok(nb::RUMP_O_RDWR | if nbio { nb::RUMP_O_NONBLOCK } else { 0 })
                }
            },
            nb::RUMP_F_SETFL => match kind {
                FileKind::Socket(so) => {
                    let s = g.so_mut(so);
                    if arg & i64::from(nb::RUMP_O_NONBLOCK) != 0 {
                        s.so_state |= SS_NBIO;
                    } else {
                        s.so_state &= !SS_NBIO;
                    }
                    Ok(0)
                }
            },
            _ => Err(Errno::EINVAL),
        }
    }

    /// ioctl(2) with NetBSD requests; `data` is the argument buffer (its size is
    /// encoded in the request).
    ///
    /// # Errors
    /// `EBADF`, `EINVAL` for a short argument, the protocol's error for requests it
    /// does not know (`EOPNOTSUPP`).
    pub fn ioctl(&self, fd: i32, cmd: u64, data: &mut [u8]) -> KResult<()> {
        let mut g = self.lock();
        let so = getsock(&g, fd)?;
        let int_arg = |d: &[u8]| -> KResult<i32> {
            Ok(i32::from_ne_bytes(
                d.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Errno::EINVAL)?,
            ))
        };
        let put_int = |d: &mut [u8], v: i32| -> KResult<()> {
            d.get_mut(..4)
                .ok_or(Errno::EINVAL)?
                .copy_from_slice(&v.to_ne_bytes());
            Ok(())
        };
        match cmd {
            // Descriptor ioctls (NetBSD: sys_ioctl handles these for every file).
            nb::RUMP_FIOCLEX | nb::RUMP_FIONCLEX => g.fd.set_cloexec(fd, cmd == nb::RUMP_FIOCLEX),
            nb::RUMP_FIONBIO => {
                let on = int_arg(data)? != 0;
                let s = g.so_mut(so);
                if on {
                    s.so_state |= SS_NBIO;
                } else {
                    s.so_state &= !SS_NBIO;
                }
                Ok(())
            }
            nb::RUMP_FIOASYNC => {
                // No signals in the virtual process: accept "off", refuse "on".
                if int_arg(data)? != 0 {
                    Err(Errno::EOPNOTSUPP)
                } else {
                    Ok(())
                }
            }
            nb::RUMP_FIONREAD => {
                let v = g.so(so).so_rcv.sb_cc as i32;
                put_int(data, v)
            }
            nb::RUMP_FIONWRITE => {
                let v = g.so(so).so_snd.sb_cc as i32;
                put_int(data, v)
            }
            nb::RUMP_FIONSPACE => {
                let v = g.so(so).so_snd.space() as i32;
                put_int(data, v)
            }
            _ => {
                let pr = g.so(so).so_proto.clone();
                pr.ioctl(&mut g, so, cmd, data)
            }
        }
    }

    /// poll(2): wait until one of the descriptors is ready, the timeout passes (None:
    /// forever) or, for a zero timeout, return at once. Returns the number of entries
    /// with events.
    ///
    /// # Errors
    /// `EINVAL` for a set larger than the descriptor limit.
    pub fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> KResult<usize> {
        // A timeout too far away to represent waits forever.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut g = self.lock();
        if fds.len() > g.fd.maxfiles {
            return Err(Errno::EINVAL);
        }
        loop {
            let mut n = 0;
            for p in fds.iter_mut() {
                p.revents = 0;
                if p.fd < 0 {
                    continue;
                }
                let so = match g.fd.get(p.fd) {
                    Ok(FileKind::Socket(so)) => so,
                    Err(_) => {
                        p.revents = nb::RUMP_POLLNVAL;
                        n += 1;
                        continue;
                    }
                };
                let s = g.so(so);
                let mut r = 0;
                if s.readable() {
                    r |= p.events & POLLIN_SET;
                }
                if s.writable() {
                    r |= p.events & POLLOUT_SET;
                }
                if s.so_error.is_some() {
                    r |= nb::RUMP_POLLERR;
                }
                if s.so_state & super::uipc_socket::SS_ISDISCONNECTED != 0
                    || (s.so_state & super::uipc_socket::SS_CANTRCVMORE != 0
                        && s.so_state & super::uipc_socket::SS_CANTSENDMORE != 0)
                {
                    r |= nb::RUMP_POLLHUP;
                }
                p.revents = r;
                if r != 0 {
                    n += 1;
                }
            }
            if n > 0 || timeout == Some(Duration::ZERO) {
                return Ok(n);
            }
            g.selwaiters += 1;
            let r = self.tsleep(&mut g, Chan::Select, deadline);
            g.selwaiters -= 1;
            if r.is_err() {
                return Ok(0);
            }
        }
    }
}
