//! `rump_init` and the `rump_pub_*` helpers; cbindgen turns this file into
//! `include/rump/rump.h`.
#![allow(clippy::missing_safety_doc)]

use std::net::Ipv4Addr;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::boundary::{boot_default, copyin, copyout, current_kernel, kernel, set_bound_kernel};
use super::boundary::{bound_kernel, CurKernel};
use super::netbsd::{RUMP_AF_INET, RUMP_IFF_UP, RUMP_PF_ROUTE, RUMP_SIOCAIFADDR};
use super::netbsd::{RUMP_SIOCGIFFLAGS, RUMP_SIOCSIFFLAGS, RUMP_SOCK_RAW};
use crate::config::IfOptions;
use crate::drivers::memlink::{MemLink, MEMLINK_DEFAULT_MTU};
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::BootOptions;
use crate::kern::Kernel;
use crate::net::ifnet::{flags, IfType, IFNAMSIZ};
use crate::net::route::{RTF_GATEWAY, RTF_STATIC, RTF_UP};
use crate::net::rtsock_msg::{RtMsg, RTM_ADD};

/// Boot the default virtual kernel, configured from the `RUMP_NET` environment
/// variable. Returns 0, or a NetBSD errno (a message on stderr says why). Calling it
/// again after success returns 0 and changes nothing.
#[no_mangle]
pub extern "C" fn rump_init() -> c_int {
    match std::panic::catch_unwind(boot_default) {
        Ok(Ok(_)) => 0,
        Ok(Err((e, msg))) => {
            eprintln!("{msg}");
            e.0
        }
        Err(_) => Errno::EIO.0,
    }
}

/// The symbolic name of a NetBSD errno value ("ECONNREFUSED"), or "E?" for an unknown
/// one. The string is static.
#[no_mangle]
pub extern "C" fn rump_pub_errno_name(error: c_int) -> *const c_char {
    let name = Errno(error).name();
    static UNKNOWN: &str = "E?\0";
    NAMES
        .get_or_init(|| {
            Errno::ALL
                .iter()
                .map(|(n, _)| std::ffi::CString::new(*n).expect("no NUL in errno names"))
                .collect()
        })
        .iter()
        .find(|c| c.to_bytes() == name.as_bytes())
        .map_or(UNKNOWN.as_ptr().cast(), |c| c.as_ptr())
}

static NAMES: OnceLock<Vec<std::ffi::CString>> = OnceLock::new();

// ---- more kernels in one process (the paper's section 4.3) ----
//
// rump_init boots the default kernel. rump_pub_kernel_create boots more, each with its
// own sockets, descriptor table, interfaces, routes and threads, configured by a string
// in the RUMP_NET grammar. A thread chooses the kernel its rump_sys_*, rump_host_* and
// rump_pub_netconfig_* calls go to with rump_pub_kernel_bind; the binding is the
// thread's (boundary.rs keeps it in a thread-local). The memN interfaces of every
// kernel of the process are ports of one in-memory link, so kernels of one process
// talk over it. Like the netconfig helpers these return 0 or a NetBSD errno and leave
// `errno` alone.

/// A virtual kernel made by `rump_pub_kernel_create`; opaque to C. C holds a pointer
/// to it, which the calls only compare with the live kernels' (a stale or made-up
/// pointer is `RUMP_EINVAL`, never dereferenced).
#[allow(non_camel_case_types)]
pub struct rump_kernel {
    kernel: Kernel,
    /// How many threads have it bound.
    bound: AtomicUsize,
}

impl rump_kernel {
    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One thread's binding ended.
    pub(crate) fn unbound(&self) {
        self.bound.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The kernels made by `rump_pub_kernel_create` and not destroyed. Binding counts
/// under this lock, so destroy's look at the count cannot miss a bind in progress.
static KERNELS: Mutex<Vec<Arc<rump_kernel>>> = Mutex::new(Vec::new());

/// Longest `rump_net` string `rump_pub_kernel_create` reads (more is `RUMP_EINVAL`).
const RUMP_NET_MAX: usize = 64 * 1024;

/// Run a `rump_pub_*` helper: 0, or the errno of its error; a panic is `EIO`.
fn pub_call(name: &str, f: impl FnOnce() -> KResult<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            tracing::debug!(call = name, errno = ?e);
            e.0
        }
        Err(_) => {
            tracing::error!(call = name, "panic inside the virtual kernel");
            Errno::EIO.0
        }
    }
}

/// Create a virtual kernel beside the default one, configured by `rump_net`, a string
/// in the grammar of the `RUMP_NET` environment variable (`""` is `lo0` only;
/// `"mem 10.0.0.2/24"` gives it interface `mem0` on the process's in-memory link), and
/// store it in `*kp`. It has its own sockets, descriptors, interfaces and routes; calls
/// reach it from a thread that binds it with `rump_pub_kernel_bind`. Returns 0,
/// `RUMP_ENOSYS` before `rump_init`, `RUMP_EFAULT` for a NULL `rump_net` or `kp`,
/// `RUMP_EINVAL` for a string that does not parse (a message on stderr names the
/// statement, as `rump_init` does for `RUMP_NET`), or the errno of a statement that
/// fails; `*kp` is NULL after a failure.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_kernel_create(
    rump_net: *const c_char,
    kp: *mut *mut rump_kernel,
) -> c_int {
    pub_call("kernel_create", || {
        // SAFETY: caller promise: `kp` points at a writable pointer (checked for NULL).
        unsafe { copyout(kp, std::ptr::null_mut())? };
        kernel().ok_or(Errno::ENOSYS)?;
        // SAFETY: caller promise: a NUL-terminated string.
        let net = unsafe { user_str(rump_net, RUMP_NET_MAX, Errno::EINVAL)? };
        let opts = BootOptions {
            memlink: Some(process_memlink()),
            ..BootOptions::default()
        };
        let k =
            Kernel::boot_from_str(&net, opts, "rump_pub_kernel_create").map_err(|(e, msg)| {
                eprintln!("{msg}");
                e
            })?;
        let rk = Arc::new(rump_kernel {
            kernel: k,
            bound: AtomicUsize::new(0),
        });
        let p = Arc::as_ptr(&rk).cast_mut();
        KERNELS.lock().push(rk);
        // SAFETY: as above; the pointer was writable a moment ago.
        unsafe { copyout(kp, p) }
    })
}

/// Make `k` the calling thread's current kernel: its `rump_sys_*` calls, the Figure 4
/// `rump_host_*` calls and the `rump_pub_netconfig_*`, `rump_pub_shmif_create`,
/// `rump_pub_virtif_create` and `rump_pub_pcap_*` helpers go to `k` until it binds
/// another. NULL binds the default kernel again. Any number of threads may bind one
/// kernel. Returns 0, or `RUMP_EINVAL` when `k` is not a live kernel from
/// `rump_pub_kernel_create`.
#[no_mangle]
pub extern "C" fn rump_pub_kernel_bind(k: *mut rump_kernel) -> c_int {
    pub_call("kernel_bind", || {
        if k.is_null() {
            set_bound_kernel(None);
            return Ok(());
        }
        let rk = {
            let ks = KERNELS.lock();
            let rk = ks
                .iter()
                .find(|rk| std::ptr::eq(Arc::as_ptr(rk), k))
                .ok_or(Errno::EINVAL)?;
            rk.bound.fetch_add(1, Ordering::AcqRel);
            rk.clone()
        };
        set_bound_kernel(Some(rk));
        Ok(())
    })
}

/// The calling thread's current kernel: the one it bound, or NULL for the default
/// kernel.
#[no_mangle]
pub extern "C" fn rump_pub_kernel_current() -> *mut rump_kernel {
    catch_unwind(|| bound_kernel().map_or(std::ptr::null_mut(), |b| Arc::as_ptr(&b).cast_mut()))
        .unwrap_or(std::ptr::null_mut())
}

/// Destroy kernel `k` from `rump_pub_kernel_create`: halt its threads, close its
/// descriptors as a process exit does and detach its
/// interfaces (its `memN` ports leave the in-memory link). The pointer is dead
/// afterwards. Returns 0, `RUMP_EINVAL` for NULL (the default kernel lives as long as
/// the process, as `rump_init`'s kernel does) or a pointer that is not a live kernel,
/// `RUMP_EBUSY` while some thread, the caller included, has it bound.
#[no_mangle]
pub extern "C" fn rump_pub_kernel_destroy(k: *mut rump_kernel) -> c_int {
    pub_call("kernel_destroy", || {
        let rk = {
            let mut ks = KERNELS.lock();
            let i = ks
                .iter()
                .position(|rk| std::ptr::eq(Arc::as_ptr(rk), k))
                .ok_or(Errno::EINVAL)?;
            if ks[i].bound.load(Ordering::Acquire) != 0 {
                return Err(Errno::EBUSY);
            }
            ks.swap_remove(i)
        };
        // Unbound, it is referenced nowhere else: the kernel halts here.
        drop(rk);
        Ok(())
    })
}

// ---- network configuration (NetBSD: sys/rump/net/lib/libnet/netconfig.c) ----
//
// The helpers a program calls instead of ifconfig(8) and route(8). Each returns 0 or a
// NetBSD errno value and leaves `errno` alone; before `rump_init` they return
// `RUMP_ENOSYS`, a NULL string is `RUMP_EFAULT`, and a panic inside is `RUMP_EIO`.
// They go through the same kernel paths as the ioctls and the routing socket, and act
// on the calling thread's current kernel (rump_pub_kernel_bind).

/// The in-memory Ethernet link the `memN` interfaces of this process attach to,
/// created on first use. It is the in-process test link (drivers/memlink.rs): every
/// `memN` of every kernel of the process (from [`rump_pub_netconfig_ifcreate`] or a
/// `mem` statement) is a port of it, so they hear each other's frames and nothing
/// outside the process. Interfaces that reach other processes or the host come from
/// `rump_pub_shmif_create` and `rump_pub_virtif_create`.
static MEMLINK: OnceLock<Arc<MemLink>> = OnceLock::new();

/// The process's in-memory link.
pub fn process_memlink() -> Arc<MemLink> {
    MEMLINK.get_or_init(MemLink::new).clone()
}

/// Longest dotted-quad string read (more is `EINVAL`).
const ADDRSTR_MAX: usize = 64;

/// Run a helper against the calling thread's current kernel: 0, or the errno of its
/// error.
fn netconfig(name: &str, f: impl FnOnce(&Kernel) -> KResult<()>) -> c_int {
    pub_call(name, || {
        let k: CurKernel = current_kernel()?;
        f(&k)
    })
}

/// A NUL-terminated string of at most `max` bytes before its NUL.
///
/// # Errors
/// `EFAULT` for NULL, `too_long` for a longer string, `EINVAL` for one that is not
/// UTF-8.
///
/// # Safety
/// `p` must point at a NUL-terminated string, unless NULL or in the first page.
unsafe fn user_str(p: *const c_char, max: usize, too_long: Errno) -> KResult<String> {
    let mut v = Vec::new();
    for i in 0..=max {
        // SAFETY: caller promise: the string's bytes up to its NUL are readable, and
        // the loop stops at the NUL.
        let b = unsafe { copyin(p.cast::<u8>().wrapping_add(i))? };
        if b == 0 {
            return String::from_utf8(v).map_err(|_| Errno::EINVAL);
        }
        v.push(b);
    }
    Err(too_long)
}

/// An interface name; one too long for `IFNAMSIZ` names no interface (`ENXIO`).
///
/// # Safety
/// As [`user_str`].
unsafe fn user_ifname(p: *const c_char) -> KResult<String> {
    // SAFETY: forwarded caller promise.
    unsafe { user_str(p, IFNAMSIZ - 1, Errno::ENXIO) }
}

/// A dotted-quad IPv4 address (`EINVAL` when it is not one).
///
/// # Safety
/// As [`user_str`].
unsafe fn user_ipv4(p: *const c_char) -> KResult<Ipv4Addr> {
    // SAFETY: forwarded caller promise.
    let s = unsafe { user_str(p, ADDRSTR_MAX, Errno::EINVAL)? };
    s.parse().map_err(|_| Errno::EINVAL)
}

/// A `struct ifreq` (or the head of a `struct ifaliasreq`) naming `name`.
fn ifreq_bytes<const N: usize>(name: &str) -> [u8; N] {
    let mut b = [0u8; N];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b
}

/// A `struct sockaddr_in` for `a`, port 0.
fn sockaddr_in(a: Ipv4Addr) -> [u8; 16] {
    let mut sin = [0u8; 16];
    sin[0] = 16;
    sin[1] = RUMP_AF_INET as u8;
    sin[4..8].copy_from_slice(&a.octets());
    sin
}

/// Whether `name` is `mem` and a unit number without leading zeros.
fn is_memlink_name(name: &str) -> bool {
    name.strip_prefix("mem").is_some_and(|unit| {
        !unit.is_empty()
            && unit.bytes().all(|b| b.is_ascii_digit())
            && (unit == "0" || !unit.starts_with('0'))
    })
}

/// Attach interface `name` to the process's in-memory link (what `memlink_attach`
/// does, with the name chosen by the caller).
fn memlink_create(k: &Kernel, name: &str) -> KResult<()> {
    let link = process_memlink();
    let mut g = k.lock();
    if g.ifunit(name).is_some() {
        return Err(Errno::EEXIST);
    }
    let drv = link.add_port(IfOptions::default());
    let (port, lladdr) = (drv.port(), drv.lladdr());
    let ifindex = g.if_attach(
        name,
        IfType::Ether,
        MEMLINK_DEFAULT_MTU,
        lladdr,
        flags::IFF_BROADCAST | flags::IFF_MULTICAST,
        Box::new(drv),
    )?;
    link.connect(port, g.if_input(ifindex), Some(g.host.clone()));
    Ok(())
}

/// Create interface `ifname` (SIOCIFCREATE). Names `memN` make an Ethernet interface
/// on the process's in-memory test link (shmif interfaces come from
/// `rump_pub_shmif_create` or `RUMP_NET`). The interface starts down and without an address.
/// Returns 0, `RUMP_EEXIST` when an interface has that name, `RUMP_ENXIO` for a name
/// this build cannot create.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_netconfig_ifcreate(ifname: *const c_char) -> c_int {
    netconfig("netconfig_ifcreate", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let name = unsafe { user_ifname(ifname)? };
        if k.lock().ifunit(&name).is_some() {
            return Err(Errno::EEXIST);
        }
        if !is_memlink_name(&name) {
            return Err(Errno::ENXIO);
        }
        memlink_create(k, &name)
    })
}

/// Give interface `ifname` the IPv4 address `addr` with netmask `mask`, both dotted
/// quads, and the broadcast address they imply (SIOCAIFADDR, which also brings the
/// interface up and adds the route to its subnet). Returns 0, `RUMP_EINVAL` for a
/// string that is not an address or a mask that is not contiguous, `RUMP_ENXIO` for no
/// such interface.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_netconfig_ipv4_ifaddr(
    ifname: *const c_char,
    addr: *const c_char,
    mask: *const c_char,
) -> c_int {
    netconfig("netconfig_ipv4_ifaddr", |k| {
        // SAFETY: caller promise: NUL-terminated strings.
        let (name, addr, mask) =
            unsafe { (user_ifname(ifname)?, user_ipv4(addr)?, user_ipv4(mask)?) };
        let broad = Ipv4Addr::from(u32::from(addr) | !u32::from(mask));
        // struct ifaliasreq: name, ifra_addr, ifra_broadaddr, ifra_mask.
        let mut ia: [u8; 64] = ifreq_bytes(&name);
        ia[16..32].copy_from_slice(&sockaddr_in(addr));
        ia[32..48].copy_from_slice(&sockaddr_in(broad));
        ia[48..64].copy_from_slice(&sockaddr_in(mask));
        k.lock().in_control(RUMP_SIOCAIFADDR, &mut ia)
    })
}

/// Set or clear IFF_UP as ifconfig(8) does: SIOCGIFFLAGS, then SIOCSIFFLAGS.
fn ifupdown(k: &Kernel, name: &str, up: bool) -> KResult<()> {
    let mut ifr: [u8; 144] = ifreq_bytes(name);
    let mut g = k.lock();
    g.in_control(RUMP_SIOCGIFFLAGS, &mut ifr)?;
    let mut f = i32::from(i16::from_ne_bytes([ifr[16], ifr[17]]));
    if up {
        f |= RUMP_IFF_UP;
    } else {
        f &= !RUMP_IFF_UP;
    }
    ifr[16..18].copy_from_slice(&(f as i16).to_ne_bytes());
    g.in_control(RUMP_SIOCSIFFLAGS, &mut ifr)
}

/// Bring interface `ifname` up. Returns 0 or `RUMP_ENXIO`.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_netconfig_ifup(ifname: *const c_char) -> c_int {
    netconfig("netconfig_ifup", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let name = unsafe { user_ifname(ifname)? };
        ifupdown(k, &name, true)
    })
}

/// Take interface `ifname` down. Returns 0 or `RUMP_ENXIO`.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_netconfig_ifdown(ifname: *const c_char) -> c_int {
    netconfig("netconfig_ifdown", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let name = unsafe { user_ifname(ifname)? };
        ifupdown(k, &name, false)
    })
}

/// Add the default route through gateway `gwaddr`, a dotted quad: an `RTM_ADD` written
/// to a routing socket, as netconfig.c does, so routing sockets hear of it. Returns 0,
/// `RUMP_EINVAL` for a bad string, `RUMP_ENETUNREACH` when no interface reaches the
/// gateway, `RUMP_EEXIST` when there is a default route, `RUMP_EAFNOSUPPORT` when the
/// kernel runs sockin.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_netconfig_ipv4_gw(gwaddr: *const c_char) -> c_int {
    netconfig("netconfig_ipv4_gw", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let gw = unsafe { user_ipv4(gwaddr)? };
        let msg = RtMsg {
            rtm_type: RTM_ADD,
            rtm_flags: (RTF_UP | RTF_GATEWAY | RTF_STATIC) as c_int,
            rtm_seq: 2,
            dst: Some(Ipv4Addr::UNSPECIFIED),
            gateway: Some(gw),
            netmask: Some(Ipv4Addr::UNSPECIFIED),
            ..RtMsg::default()
        }
        .emit();
        // A kernel socket, with no descriptor (netconfig.c's rtso).
        let mut g = k.lock();
        let so = k.socreate(&mut g, RUMP_PF_ROUTE, RUMP_SOCK_RAW, 0)?;
        let r = k.sosend(&mut g, so, None, &[&msg], 0);
        k.soclose(&mut g, so);
        r.map(|_| ())
    })
}

/// Create an interface on the shmif bus in file `path` (created if missing; a file that
/// is not a bus is refused with `RUMP_EFTYPE`) and store its unit number (the N of
/// `shmifN`) in `*unit` when `unit` is not NULL. The interface starts without an
/// address: configure it with the Figure 5 ioctls. Returns 0 or a NetBSD errno.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_shmif_create(path: *const c_char, unit: *mut c_int) -> c_int {
    netconfig("shmif_create", |k| {
        // SAFETY: caller promise: a NUL-terminated path.
        let p = unsafe { user_str(path, 4096, Errno::ENAMETOOLONG)? };
        let idx =
            crate::drivers::shmif::shmif_attach(k, std::path::Path::new(&p), &Default::default())?;
        let name = k
            .lock()
            .ifp(idx)
            .map(|i| i.if_xname.clone())
            .unwrap_or_default();
        let n: c_int = name.trim_start_matches("shmif").parse().unwrap_or(-1);
        if !unit.is_null() {
            // SAFETY: caller promise: an int at `unit`.
            unsafe { copyout(unit, n)? };
        }
        Ok(())
    })
}

/// Create an interface on the host tap device `tapname` (the paper's if_virt), creating
/// the tap when it is missing and the process has CAP_NET_ADMIN (root), and store its
/// unit number (the N of `virtN`) in `*unit` when `unit` is not NULL. The interface
/// starts without an address: configure it with the Figure 5 ioctls. Returns 0,
/// `RUMP_ENAMETOOLONG` for a name over 15 bytes, `RUMP_EINVAL` for an empty one,
/// `RUMP_EPERM` or `RUMP_EACCES` without the privileges to create or open the tap, or
/// another NetBSD errno from the host.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_virtif_create(tapname: *const c_char, unit: *mut c_int) -> c_int {
    netconfig("virtif_create", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let name = unsafe {
            user_str(
                tapname,
                crate::drivers::virtif::VIRTIF_TAPNAME_MAX,
                Errno::ENAMETOOLONG,
            )?
        };
        let idx = crate::drivers::virtif::virtif_attach(k, &name, &Default::default())?;
        let ifname = k
            .lock()
            .ifp(idx)
            .map(|i| i.if_xname.clone())
            .unwrap_or_default();
        let n: c_int = ifname.trim_start_matches("virt").parse().unwrap_or(-1);
        if !unit.is_null() {
            // SAFETY: caller promise: an int at `unit`.
            unsafe { copyout(unit, n)? };
        }
        Ok(())
    })
}

/// Capture everything interface `ifname` sends and receives into the pcap file `path`
/// (replaced if it exists), readable by `tcpdump -r`. Returns 0, `RUMP_ENXIO` for no
/// such interface, or the host's error for the file.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_pcap_open(ifname: *const c_char, path: *const c_char) -> c_int {
    netconfig("pcap_open", |k| {
        // SAFETY: caller promise: NUL-terminated strings.
        let (name, p) = unsafe {
            (
                user_ifname(ifname)?,
                user_str(path, 4096, Errno::ENAMETOOLONG)?,
            )
        };
        k.lock().if_pcap_open(&name, std::path::Path::new(&p))
    })
}

/// Stop the capture of interface `ifname` (flushing and closing its file). Returns 0
/// or `RUMP_ENXIO`.
#[no_mangle]
pub unsafe extern "C" fn rump_pub_pcap_close(ifname: *const c_char) -> c_int {
    netconfig("pcap_close", |k| {
        // SAFETY: caller promise: a NUL-terminated string.
        let name = unsafe { user_ifname(ifname)? };
        let mut g = k.lock();
        g.ifunit(&name).ok_or(Errno::ENXIO)?;
        g.if_pcap_close(&name);
        Ok(())
    })
}
