//! The shmif driver's host calls (its rumpuser): the bus file, its shared mapping,
//! futexes on the mapping, process liveness and the wall clock. The only place in
//! `drivers/shmif` that calls the host, and the only place where `unsafe` appears.
//!
//! Host errors come back in NetBSD numbers through abi/hostabi.rs's one translation.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::abi::hostabi::errno_from_host;
use crate::kern::errno::{Errno, KResult};

/// A host I/O error in NetBSD numbers.
fn host_err(e: io::Error) -> Errno {
    errno_from_host(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The last host errno in NetBSD numbers.
fn last_err() -> Errno {
    host_err(io::Error::last_os_error())
}

/// An open bus file.
pub(super) struct BusFd {
    file: File,
}

impl BusFd {
    /// Open `path` read-write (creating it, mode 0666 less the umask, when `create`) or
    /// read-only.
    ///
    /// # Errors
    /// The host's open(2) errors (`ENOENT`, `EACCES`, `EISDIR`, ...).
    pub(super) fn open(path: &Path, writable: bool, create: bool) -> KResult<BusFd> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable && create)
            .mode(0o666)
            .open(path)
            .map_err(host_err)?;
        Ok(BusFd { file })
    }

    /// Take the whole-file advisory lock, shared or exclusive, waiting for it.
    ///
    /// # Errors
    /// The host's flock(2) errors.
    pub(super) fn flock(&self, exclusive: bool) -> KResult<()> {
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        loop {
            // SAFETY: flock on a descriptor we own; no memory is passed.
            let r = unsafe { libc::flock(self.file.as_raw_fd(), op) };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(host_err(e));
            }
        }
    }

    /// Drop the advisory lock (closing the file drops it too).
    pub(super) fn funlock(&self) {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }

    /// The file's length.
    ///
    /// # Errors
    /// `EFTYPE` when it is not a regular file, else the host's fstat(2) errors.
    pub(super) fn len(&self) -> KResult<u64> {
        let md = self.file.metadata().map_err(host_err)?;
        if !md.is_file() {
            return Err(Errno::EFTYPE);
        }
        Ok(md.len())
    }

    /// Set the file's length (ftruncate).
    ///
    /// # Errors
    /// The host's ftruncate(2) errors (`ENOSPC`, `EFBIG`, ...).
    pub(super) fn set_len(&self, len: u64) -> KResult<()> {
        self.file.set_len(len).map_err(host_err)
    }

    /// Read up to `buf.len()` bytes at `off`; fewer only at the end of the file.
    ///
    /// # Errors
    /// The host's pread(2) errors.
    pub(super) fn read_at(&self, buf: &mut [u8], off: u64) -> KResult<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(host_err(e)),
            }
        }
        Ok(done)
    }

    /// Write all of `buf` at `off`.
    ///
    /// # Errors
    /// The host's pwrite(2) errors.
    pub(super) fn write_all_at(&self, buf: &[u8], off: u64) -> KResult<()> {
        self.file.write_all_at(buf, off).map_err(host_err)
    }
}

/// A `MAP_SHARED` mapping of a whole bus file, seen as 32- and 64-bit atomic words.
///
/// Every process that maps the bus changes it behind our back, so the memory is only
/// ever touched through atomics. A read-only mapping (`PROT_READ`) faults on a store:
/// the bus code checks its `writable` flag before every store, so that never happens.
/// Another process truncating the file under the mapping would make accesses fault
/// (SIGBUS); the bus format is checked before mapping, but a truncation afterwards is
/// not something a mapping can defend against (NetBSD's shmif has the same exposure).
pub(super) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory accessed only through atomics; the
// pointer stays valid until Drop, whichever thread holds the value.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: all access goes through `&AtomicU32`/`&AtomicU64`, which are Sync.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map the first `len` bytes of `fd` shared, writable or read-only. `len` must be a
    /// nonzero multiple of 8 no larger than the file (the caller checked the file).
    ///
    /// # Errors
    /// `EINVAL` for a bad length, else the host's mmap(2) errors (`ENOMEM`, `EACCES`).
    pub(super) fn new(fd: &BusFd, len: usize, writable: bool) -> KResult<Mapping> {
        if len == 0 || len & 7 != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) of a descriptor we
        // own; nothing else in the process is affected. The result is checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(last_err());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(Errno::ENOMEM)?;
        Ok(Mapping { ptr, len })
    }

    /// The mapping as 32-bit words.
    pub(super) fn words32(&self) -> &[AtomicU32] {
        // SAFETY: the mapping is page aligned, `len` bytes long (a multiple of 8) and
        // lives as long as `self`; AtomicU32 has u32's size and alignment and any bit
        // pattern is valid; all access is atomic, so other processes' concurrent stores
        // are not data races.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<AtomicU32>(), self.len / 4) }
    }

    /// The mapping as 64-bit words.
    pub(super) fn words64(&self) -> &[AtomicU64] {
        // SAFETY: as for `words32`, with AtomicU64 (8-byte aligned: the mapping is page
        // aligned and `len` a multiple of 8).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<AtomicU64>(), self.len / 8) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region `new` mapped; no reference into it
        // outlives `self` (the slices borrow from it).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Sleep until `word` is woken or no longer holds `expected`, or `timeout` passes
/// (FUTEX_WAIT, shared: the word lives in a `MAP_SHARED` mapping other processes wake).
/// Returns false on timeout.
pub(super) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) -> bool {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: `word` is a valid, aligned 32-bit word for the duration of the call and
    // `ts` a valid timespec; FUTEX_WAIT only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
    if r == 0 {
        return true;
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::ETIMEDOUT) => false,
        // EAGAIN: the word already changed; EINTR: a signal. Either way look again.
        Some(libc::EAGAIN) | Some(libc::EINTR) => true,
        _ => {
            // A futex the host refuses (a strange mapping): wait out a short slice
            // instead, so the caller still polls at a bounded rate, never spins.
            std::thread::sleep(timeout.min(Duration::from_millis(10)));
            false
        }
    }
}

/// Wake every waiter on `word` (FUTEX_WAKE, shared).
pub(super) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned 32-bit word; FUTEX_WAKE does not touch memory.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

/// This process's id.
pub(super) fn getpid() -> u32 {
    std::process::id()
}

/// Whether process `pid` may still be running: kill(pid, 0) does not say ESRCH, and
/// it is not a zombie (a killed child its parent has not reaped yet holds nothing).
/// Ids that cannot be a process (0, or too large for pid_t) are dead.
pub(super) fn process_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(p, 0) };
    if r != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return false;
    }
    // EPERM: it exists but is someone else's. Zombies still answer kill: look at
    // /proc (when there is no /proc, assume alive).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    }
}

/// Wall-clock time since the UNIX epoch, in nanoseconds (frame timestamps, which pcap
/// readers show as dates).
pub(super) fn wall_clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A monotonic instant, for the bus lock's patience.
pub(super) fn monotonic() -> std::time::Instant {
    std::time::Instant::now()
}

/// Give the CPU away for a moment (waiting for the bus lock).
pub(super) fn backoff(round: u32) {
    if round < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(50));
    }
}
