//! The boundary every C export goes through (STYLE habit 7).
//!
//! [`sys`] runs a call against the calling thread's current kernel: the one it bound
//! with `rump_pub_kernel_bind`, else the default kernel. A panic inside becomes -1 with
//! `EIO` (logged) instead of unwinding into C; an `Err` becomes -1 with `errno` set. The
//! `copyin`/`copyout` helpers check user pointers as a kernel's copyin does as far as a
//! process can: NULL and addresses in the never-mapped first page give `EFAULT`; structs
//! are read and written unaligned, so a misaligned pointer works as on a BSD kernel.
//!
//! # The current kernel
//!
//! A thread's binding lives in a thread-local slot holding a reference to the
//! [`rump_kernel`] and counted in it, so `rump_pub_kernel_destroy` refuses a kernel
//! some thread still has bound (`EBUSY`) and a call never runs on a destroyed kernel.
//! The slot is read only after some thread of the process has bound a kernel
//! ([`KERNEL_BINDS`]): until then a call costs what it did with one kernel, one relaxed
//! load more. A thread that exits bound drops its binding with its thread-locals.

use std::cell::RefCell;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::BootOptions;
use crate::kern::sockaddr::SockAddr;
use crate::kern::Kernel;

use super::rump::{process_memlink, rump_kernel};

static KERNEL: OnceLock<Kernel> = OnceLock::new();
static BOOT_LOCK: Mutex<()> = Mutex::new(());

/// Whether any thread has ever bound a kernel: until one has, no thread-local is read.
/// The binding thread sets it before its own slot, so it sees its binding; other
/// threads' slots are empty whatever they read here.
static KERNEL_BINDS: AtomicBool = AtomicBool::new(false);

/// One thread's binding: a counted reference to the kernel it uses.
struct Binding(Arc<rump_kernel>);

impl Drop for Binding {
    fn drop(&mut self) {
        self.0.unbound();
    }
}

thread_local! {
    /// The kernel this thread's calls go to (`None`: the default kernel).
    static CURRENT: RefCell<Option<Binding>> = const { RefCell::new(None) };
}

/// The kernel a call runs on: the default one, or the one the thread bound.
pub enum CurKernel {
    /// The default kernel (rump_init's).
    Default(&'static Kernel),
    /// A kernel from `rump_pub_kernel_create`, kept alive for the call.
    Bound(Arc<rump_kernel>),
}

impl Deref for CurKernel {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        match self {
            CurKernel::Default(k) => k,
            CurKernel::Bound(b) => b.kernel(),
        }
    }
}

/// The kernel the calling thread bound, if any.
pub fn bound_kernel() -> Option<Arc<rump_kernel>> {
    if !KERNEL_BINDS.load(Ordering::Relaxed) {
        return None;
    }
    // A call from a thread-local destructor after ours ran finds no binding.
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|b| b.0.clone()))
        .ok()
        .flatten()
}

/// Make `k` the calling thread's current kernel (`None`: the default kernel again),
/// dropping the previous binding. The caller has counted `k` as bound (under the lock
/// of abi/rump.rs's kernel list); the binding uncounts it when it ends.
pub fn set_bound_kernel(k: Option<Arc<rump_kernel>>) {
    if k.is_some() {
        KERNEL_BINDS.store(true, Ordering::Relaxed);
    }
    let old = CURRENT.with(|c| c.replace(k.map(Binding)));
    drop(old);
}

/// The calling thread's current kernel, without booting the default one.
///
/// # Errors
/// `ENOSYS` when the thread has bound none and `rump_init` has not run.
pub fn current_kernel() -> KResult<CurKernel> {
    match bound_kernel() {
        Some(b) => Ok(CurKernel::Bound(b)),
        None => kernel().map(CurKernel::Default).ok_or(Errno::ENOSYS),
    }
}

/// Lowest address a user pointer may have (the first page is never mapped).
const MIN_USER_ADDR: usize = 4096;

/// The default kernel, if booted.
pub fn kernel() -> Option<&'static Kernel> {
    KERNEL.get()
}

/// Boot the default kernel from the environment if it is not up yet.
///
/// # Errors
/// The boot error and its message.
pub fn boot_default() -> Result<&'static Kernel, (Errno, String)> {
    if let Some(k) = KERNEL.get() {
        return Ok(k);
    }
    let _g = BOOT_LOCK.lock();
    if let Some(k) = KERNEL.get() {
        return Ok(k);
    }
    init_logging();
    let k = Kernel::boot_from_env(BootOptions {
        memlink: Some(process_memlink()),
        ..BootOptions::default()
    })?;
    Ok(KERNEL.get_or_init(|| k))
}

/// Turn on `tracing` output to stderr when `RUMP_LOG` is set (an EnvFilter).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("RUMP_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Set the calling thread's `errno`.
pub fn set_errno(v: i32) {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe {
        *libc::__errno_location() = v;
    }
}

/// What a syscall returns to C on success, and -1 on failure.
pub trait SysRet {
    /// The C return type.
    type C;
    /// Success value.
    fn ok(self) -> Self::C;
    /// The failure value (-1).
    fn fail() -> Self::C;
}

impl SysRet for () {
    type C = libc::c_int;
    fn ok(self) -> libc::c_int {
        0
    }
    fn fail() -> libc::c_int {
        -1
    }
}

impl SysRet for i32 {
    type C = libc::c_int;
    fn ok(self) -> libc::c_int {
        self
    }
    fn fail() -> libc::c_int {
        -1
    }
}

impl SysRet for usize {
    type C = isize;
    fn ok(self) -> isize {
        self as isize
    }
    fn fail() -> isize {
        -1
    }
}

/// How errno values leave the boundary.
#[derive(Clone, Copy)]
pub enum ErrnoAbi {
    /// NetBSD numbers (`rump_sys_*`).
    NetBsd,
    /// The host's numbers (host-ABI entry points).
    Host,
}

/// Run a call against the calling thread's current kernel.
pub fn sys<R: SysRet>(name: &str, abi: ErrnoAbi, f: impl FnOnce(&Kernel) -> KResult<R>) -> R::C {
    let k = match (bound_kernel(), abi) {
        (Some(b), _) => Ok(CurKernel::Bound(b)),
        (None, ErrnoAbi::NetBsd) => kernel().map(CurKernel::Default).ok_or(Errno::ENOSYS),
        // Figure 4 programs never call rump_init: boot on first use.
        (None, ErrnoAbi::Host) => boot_default().map(CurKernel::Default).map_err(|(e, msg)| {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| eprintln!("librump: {msg}"));
            e
        }),
    };
    let r = match k {
        Ok(k) => match catch_unwind(AssertUnwindSafe(|| f(&k))) {
            Ok(r) => r,
            Err(p) => {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(call = name, panic = %what, "panic inside the virtual kernel");
                Err(Errno::EIO)
            }
        },
        Err(e) => Err(e),
    };
    match r {
        Ok(v) => v.ok(),
        Err(e) => {
            tracing::debug!(call = name, errno = ?e);
            set_errno(match abi {
                ErrnoAbi::NetBsd => e.0,
                ErrnoAbi::Host => super::hostabi::errno_to_host(e),
            });
            R::fail()
        }
    }
}

fn bad(p: usize) -> bool {
    p < MIN_USER_ADDR
}

/// A user buffer to read; NULL is allowed for a zero length.
///
/// # Errors
/// `EFAULT` for a bad pointer, `EINVAL` for an impossible length.
///
/// # Safety
/// `p` must point at `len` readable bytes that stay valid during the call, unless it is
/// NULL or in the first page.
pub unsafe fn user_slice<'a>(p: *const u8, len: usize) -> KResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if bad(p as usize) {
        return Err(Errno::EFAULT);
    }
    if len > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller promises `len` readable bytes at `p`; checked non-null above.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A user buffer to write; NULL is allowed for a zero length.
///
/// # Errors
/// `EFAULT`, `EINVAL`.
///
/// # Safety
/// `p` must point at `len` writable bytes, unaliased during the call, unless NULL or in
/// the first page.
pub unsafe fn user_slice_mut<'a>(p: *mut u8, len: usize) -> KResult<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if bad(p as usize) {
        return Err(Errno::EFAULT);
    }
    if len > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller promises `len` writable bytes at `p`; checked non-null above.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Read a struct from user memory (copyin), aligned or not.
///
/// # Errors
/// `EFAULT`.
///
/// # Safety
/// `p` must point at a readable `T` unless NULL or in the first page.
pub unsafe fn copyin<T: Copy>(p: *const T) -> KResult<T> {
    if bad(p as usize) {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller promises a readable T at `p`; read_unaligned needs no alignment.
    Ok(unsafe { std::ptr::read_unaligned(p) })
}

/// Write a struct to user memory (copyout), aligned or not.
///
/// # Errors
/// `EFAULT`.
///
/// # Safety
/// `p` must point at a writable `T` unless NULL or in the first page.
pub unsafe fn copyout<T: Copy>(p: *mut T, v: T) -> KResult<()> {
    if bad(p as usize) {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller promises a writable T at `p`; write_unaligned needs no alignment.
    unsafe { std::ptr::write_unaligned(p, v) };
    Ok(())
}

/// Which layout a sockaddr has in user memory.
#[derive(Clone, Copy)]
pub enum SaAbi {
    /// NetBSD (`sa_len`, one-byte family).
    NetBsd,
    /// Linux (two-byte family).
    Host,
}

/// Copy in a socket address of `len` bytes.
///
/// # Errors
/// `EFAULT`, `EINVAL` (too short or longer than 255 bytes as NetBSD's sockargs),
/// `EAFNOSUPPORT`.
///
/// # Safety
/// `p` must point at `len` readable bytes unless NULL or in the first page.
pub unsafe fn copyin_sockaddr(p: *const u8, len: u32, abi: SaAbi) -> KResult<SockAddr> {
    if len > 255 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: forwarded caller promise.
    let b = unsafe { user_slice(p, len as usize)? };
    match abi {
        SaAbi::NetBsd => super::sockaddr::from_netbsd(b),
        SaAbi::Host => super::sockaddr::from_host(b),
    }
}

/// Copy out a socket address to `p` with its length in `*lenp` (value-result). NULL
/// `p` skips it (accept with no name).
///
/// # Errors
/// `EFAULT`, `EINVAL` for a negative length.
///
/// # Safety
/// `p` must point at `*lenp` writable bytes and `lenp` at a writable length, unless NULL.
pub unsafe fn copyout_sockaddr(
    a: &SockAddr,
    p: *mut u8,
    lenp: *mut u32,
    abi: SaAbi,
) -> KResult<()> {
    if p.is_null() {
        return Ok(());
    }
    // SAFETY: forwarded caller promise.
    let len = unsafe { copyin(lenp)? };
    if len > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 128];
    let full = match abi {
        SaAbi::NetBsd => super::sockaddr::to_netbsd(a, &mut buf),
        SaAbi::Host => super::sockaddr::to_host(a, &mut buf),
    };
    let n = full.min(len as usize);
    // SAFETY: forwarded caller promise: `len` writable bytes at `p`.
    let out = unsafe { user_slice_mut(p, n)? };
    out.copy_from_slice(&buf[..n]);
    // NetBSD reports the bytes copied; Linux the address's full length.
    let report = match abi {
        SaAbi::NetBsd => n,
        SaAbi::Host => full,
    };
    // SAFETY: forwarded caller promise.
    unsafe { copyout(lenp, report as u32) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn a_panic_becomes_eio_and_errors_become_errno() {
        boot_default().map_err(|(_, m)| m).unwrap();
        let r: libc::c_int = sys("test", ErrnoAbi::NetBsd, |_| -> KResult<()> {
            panic!("boom")
        });
        assert_eq!((r, errno()), (-1, Errno::EIO.0));
        let r: isize = sys("test", ErrnoAbi::NetBsd, |_| -> KResult<usize> {
            Err(Errno::ECONNREFUSED)
        });
        assert_eq!((r, errno()), (-1, 61));
        let r: isize = sys("test", ErrnoAbi::Host, |_| -> KResult<usize> {
            Err(Errno::ECONNREFUSED)
        });
        assert_eq!((r, errno()), (-1, libc::ECONNREFUSED));
        let r: libc::c_int = sys("test", ErrnoAbi::NetBsd, |_| Ok(7i32));
        assert_eq!(r, 7);
    }

    #[test]
    fn bad_pointers_are_efault() {
        // SAFETY: the pointers are rejected before any access.
        unsafe {
            assert_eq!(user_slice(std::ptr::null(), 1).err(), Some(Errno::EFAULT));
            assert_eq!(user_slice(16 as *const u8, 1).err(), Some(Errno::EFAULT));
            assert_eq!(user_slice(std::ptr::null(), 0).map(|s| s.len()), Ok(0));
            assert_eq!(copyin::<u32>(std::ptr::null()).err(), Some(Errno::EFAULT));
            assert_eq!(
                copyout::<u32>(std::ptr::null_mut(), 1).err(),
                Some(Errno::EFAULT)
            );
            assert_eq!(
                copyin_sockaddr(std::ptr::null(), 16, SaAbi::NetBsd).err(),
                Some(Errno::EFAULT)
            );
        }
        let b = [0u8; 300];
        // SAFETY: `b` is readable for its length.
        unsafe {
            assert_eq!(
                copyin_sockaddr(b.as_ptr(), 300, SaAbi::NetBsd).err(),
                Some(Errno::EINVAL)
            );
            assert_eq!(
                copyin_sockaddr(b.as_ptr(), 0, SaAbi::NetBsd).err(),
                Some(Errno::EINVAL)
            );
        }
        // Misaligned structs are read as a kernel's copyin would.
        let raw = [0u8, 1, 0, 0, 0, 9, 9, 9];
        // SAFETY: bytes 1..5 of `raw` are a readable u32.
        let v = unsafe { copyin(raw.as_ptr().wrapping_add(1).cast::<u32>()) };
        assert_eq!(v, Ok(1));
    }
}
