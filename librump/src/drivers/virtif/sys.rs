//! The virtif driver's host calls (its rumpuser): the tap device (`/dev/net/tun`,
//! TUNSETIFF), the eventfd that wakes a halting receive thread, poll(2), read(2) and
//! write(2). The only place in `drivers/virtif` that calls the host, and the only place
//! where `unsafe` appears.
//!
//! Host errors come back in NetBSD numbers through abi/hostabi.rs's one translation.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::abi::hostabi::errno_from_host;
use crate::kern::errno::{Errno, KResult};

/// The clone device of the host's tun/tap driver.
const TUN_CLONE_DEV: &str = "/dev/net/tun";

/// Longest host interface name, with its NUL (Linux IFNAMSIZ).
pub(super) const HOST_IFNAMSIZ: usize = 16;

/// A host errno in NetBSD numbers.
fn host_errno(e: i32) -> Errno {
    errno_from_host(e)
}

/// The last host errno, raw (Linux numbers).
fn last_raw() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `struct ifreq` as TUNSETIFF reads and writes it: the name, then `ifr_flags` (a short)
/// at the start of the 24-byte union; 40 bytes on every 64-bit Linux.
#[repr(C, align(8))]
struct IfreqFlags {
    name: [u8; HOST_IFNAMSIZ],
    flags: libc::c_short,
    pad: [u8; 22],
}

/// An open tap device in non-blocking mode.
pub(super) struct TapFd {
    fd: OwnedFd,
}

/// What the receive thread's poll saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct PollResult {
    /// The tap has frames to read.
    pub tap_readable: bool,
    /// The tap reports an error or hangup (POLLERR, POLLHUP, POLLNVAL).
    pub tap_error: bool,
    /// The wake descriptor was signalled.
    pub woken: bool,
}

impl TapFd {
    /// Attach to the host tap device `name` (IFF_TAP | IFF_NO_PI: bare Ethernet frames),
    /// creating it when it does not exist and the process has CAP_NET_ADMIN; returns the
    /// descriptor and the name the host gave the device. A tap created here is not
    /// persistent: it goes away when the descriptor is closed.
    ///
    /// # Errors
    /// `EINVAL` for an empty name or one with a NUL or a `/`; `ENAMETOOLONG` for a name
    /// of `HOST_IFNAMSIZ` bytes or more (the host would silently cut it); the host's
    /// errors: `EPERM` (no CAP_NET_ADMIN to create the tap, or a tap owned by another
    /// user), `EBUSY` (the tap is attached elsewhere and is not multi-queue), `ENOENT`
    /// or `ENODEV` (no tun driver), `EINVAL` (the name is a device of another kind).
    pub(super) fn open(name: &str) -> KResult<(TapFd, String)> {
        if name.is_empty() || name.contains(['\0', '/']) || name.chars().any(char::is_whitespace) {
            return Err(Errno::EINVAL);
        }
        if name.len() >= HOST_IFNAMSIZ {
            return Err(Errno::ENAMETOOLONG);
        }
        let path = CString::new(TUN_CLONE_DEV).expect("no NUL");
        // SAFETY: open(2) of a NUL-terminated path that lives across the call; the
        // result is checked and owned below.
        let raw = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(host_errno(last_raw()));
        }
        // SAFETY: `raw` is a descriptor open(2) just returned; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut ifr = IfreqFlags {
            name: [0; HOST_IFNAMSIZ],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
            pad: [0; 22],
        };
        ifr.name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq` (40 bytes), which `ifr`
        // is, valid and exclusively ours for the call.
        let r =
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut ifr as *mut IfreqFlags) };
        if r < 0 {
            return Err(host_errno(last_raw()));
        }
        let end = ifr
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(HOST_IFNAMSIZ);
        let got = String::from_utf8_lossy(&ifr.name[..end]).into_owned();
        Ok((TapFd { fd }, got))
    }

    /// Read one frame into `buf`: `Ok(Some(len))`, `Ok(None)` when none is waiting.
    /// A frame longer than `buf` comes back cut to `buf.len()`.
    ///
    /// # Errors
    /// The host's read(2) errors other than EAGAIN and EINTR.
    pub(super) fn read(&self, buf: &mut [u8]) -> KResult<Option<usize>> {
        loop {
            // SAFETY: read(2) into `buf`, valid for `buf.len()` bytes and exclusively
            // borrowed for the call.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            match last_raw() {
                libc::EINTR => continue,
                libc::EAGAIN => return Ok(None),
                e => return Err(host_errno(e)),
            }
        }
    }

    /// Write one frame with one write(2); never blocks (the descriptor is
    /// non-blocking). Returns false when the host could not take it now (EAGAIN).
    ///
    /// # Errors
    /// The host's write(2) errors (`EIO` when the tap is gone, `EINVAL` for a frame the
    /// host refuses); `EIO` for a short write, which a tap never does.
    pub(super) fn write(&self, frame: &[u8]) -> KResult<bool> {
        loop {
            // SAFETY: write(2) from `frame`, valid for `frame.len()` bytes for the call.
            let n = unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast::<libc::c_void>(),
                    frame.len(),
                )
            };
            if n >= 0 {
                return if n as usize == frame.len() {
                    Ok(true)
                } else {
                    Err(Errno::EIO)
                };
            }
            match last_raw() {
                libc::EINTR => continue,
                libc::EAGAIN => return Ok(false),
                e => return Err(host_errno(e)),
            }
        }
    }

    /// Wait until the tap has a frame, `wake` is signalled or `timeout` passes (poll(2)
    /// on both descriptors). Never called with the kernel lock held.
    pub(super) fn poll(&self, wake: &WakeFd, timeout: Duration) -> PollResult {
        let mut fds = [
            libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: poll(2) on an array of two valid pollfds that lives across the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r <= 0 {
            // Timeout, or EINTR: the caller looks at its stop flag and polls again.
            return PollResult::default();
        }
        PollResult {
            tap_readable: fds[0].revents & libc::POLLIN != 0,
            tap_error: fds[0].revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0,
            woken: fds[1].revents & libc::POLLIN != 0,
        }
    }
}

/// An eventfd that wakes the receive thread out of its poll (at halt or detach).
pub(super) struct WakeFd {
    fd: OwnedFd,
}

impl WakeFd {
    /// A fresh, unsignalled eventfd (non-blocking, close-on-exec).
    ///
    /// # Errors
    /// The host's eventfd(2) errors (`EMFILE`, `ENFILE`, `ENOMEM`).
    pub(super) fn new() -> KResult<WakeFd> {
        // SAFETY: eventfd(2) takes no pointers; the result is checked and owned below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(host_errno(last_raw()));
        }
        // SAFETY: `raw` is a descriptor eventfd(2) just returned; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(WakeFd { fd })
    }

    /// Signal it (the counter saturating is harmless: it stays readable).
    pub(super) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: write(2) of the 8 bytes of `one`, which lives across the call.
        unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast::<libc::c_void>(),
                8,
            )
        };
    }

    /// Clear the signal.
    pub(super) fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: read(2) of 8 bytes into `v`, which lives across the call.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut v as *mut u64).cast::<libc::c_void>(),
                8,
            )
        };
    }
}

/// This process's id.
pub(super) fn getpid() -> u32 {
    std::process::id()
}
