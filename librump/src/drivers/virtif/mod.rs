//! virtif: an Ethernet interface on a host tap device (the paper's if_virt; NetBSD:
//! sys/rump/net/lib/libvirtif). What the kernel sends comes out of the host's tap
//! interface, and what the host sends into the tap (or bridges onto it) reaches the
//! kernel, so the virtual kernel is one more machine on the host's network.
//!
//! # The host side
//!
//! [`virtif_attach`] opens `/dev/net/tun` and attaches to the tap named by the caller
//! with TUNSETIFF (`IFF_TAP | IFF_NO_PI`: bare Ethernet frames, no packet-info header).
//! A tap that does not exist is created, which takes CAP_NET_ADMIN (root); such a tap
//! is not persistent and disappears with the kernel. Without the capability, only a tap
//! created beforehand for this user (`ip tuntap add NAME mode tap user USER`) can be
//! opened; anything else is the host's `EPERM` (or `EACCES`), translated to NetBSD
//! numbers by abi/hostabi.rs. A name of 16 bytes or more is `ENAMETOOLONG`: the host
//! would cut it silently. A name with `%d` (`tap%d`) lets the host pick the unit;
//! [`virtif_tapname`] tells which it picked. The host side of the tap is configured
//! by the host (`ip link set TAP up`, an address or a bridge); this driver never
//! touches it.
//!
//! # The interface
//!
//! The interface is named `virtN` (N the lowest unit free in the kernel) and gets a
//! locally administered address `02:76:69:xx:xx:xx` ("vi"), from the kernel's
//! [`Hypervisor::getrandom`] mixed with the pid and a process-wide counter, so that
//! kernels with equal test seeds still differ. Frames carry no FCS and may be up to
//! [`VIRTIF_MAX_FRAME`] bytes (MTU 9000, jumbo; the default MTU is 1500, and the host
//! side's MTU must match for jumbo frames to pass).
//!
//! Output ([`IfDriver::output`], under the kernel lock) writes the frame to the tap
//! with one write(2) on a non-blocking descriptor: when the host's queue is full
//! (`EAGAIN`) the frame is dropped and counted (`oqdrops`), never waited for, as a
//! full hardware queue would drop it. While the host side of the tap is down the host
//! refuses frames with `EIO`: they are dropped and counted (`olinkdown`), as on a wire
//! without carrier, and the stack sees `ENETDOWN`.
//!
//! A kernel thread per interface receives: it blocks in poll(2) on the tap and on an
//! eventfd without holding the kernel lock, reads the waiting frames (at most
//! [`RX_BATCH`] before looking at its stop flag again), applies the interface's receive
//! impairment ([`super::impair`], the `RUMP_NET` options) and hands the frames to
//! [`IfInput`]. Frames shorter than an Ethernet header or longer than
//! [`VIRTIF_MAX_FRAME`] are dropped and counted. At kernel halt or detach the thread is
//! told to stop and woken through the eventfd.
//!
//! Locks: output takes none of its own (it runs under the kernel lock); the receive
//! thread takes only the impairment lock (a leaf) and the input queue's, never the
//! kernel lock.

mod sys;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::ifregistry::IfRegistry;
use super::impair::{deliver_impaired, splitmix64, ImpairStats, Impairment, ETHER_HDR_LEN};
use crate::config::IfOptions;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::{KernelInner, KernelState};
use crate::kern::mbuf::{MbufChain, MbufPool};
use crate::kern::Kernel;
use crate::net::ifnet::{flags, IfDriver, IfInput, IfType};
use crate::rumpuser::Hypervisor;

use sys::{TapFd, WakeFd};

/// MTU of a virtif interface when the options name none (ETHERMTU).
pub const VIRTIF_DEFAULT_MTU: u32 = 1500;
/// Largest MTU a virtif interface takes.
pub const VIRTIF_MAX_MTU: u32 = 9000;
/// Smallest MTU (IPv4's minimum datagram).
pub const VIRTIF_MIN_MTU: u32 = 68;
/// Longest frame sent or received: the largest MTU plus the Ethernet header.
pub const VIRTIF_MAX_FRAME: usize = VIRTIF_MAX_MTU as usize + ETHER_HDR_LEN;
/// The first three bytes of every virtif address: locally administered, unicast, "vi".
pub const VIRTIF_MAC_PREFIX: [u8; 3] = [0x02, 0x76, 0x69];
/// Longest tap name, without its NUL (the host's IFNAMSIZ less one).
pub const VIRTIF_TAPNAME_MAX: usize = sys::HOST_IFNAMSIZ - 1;

/// Interface name prefix: `virt0`, `virt1`, ...
const VIRTIF_IFNAME: &str = "virt";
/// Most frames a receive thread reads before looking at its stop flag again.
pub const RX_BATCH: usize = 256;
/// Longest a receive thread sleeps in poll without looking at its stop flag.
const RX_WAIT: Duration = Duration::from_millis(200);

/// Counters of one virtif interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtifStats {
    /// Frames written to the tap.
    pub opackets: u64,
    /// Frames the host's tap queue was too full to take (EAGAIN), dropped.
    pub oqdrops: u64,
    /// Frames written while the host side of the tap was down (the host says EIO),
    /// dropped.
    pub olinkdown: u64,
    /// Frames refused on output: impossible length, or another host write error.
    pub oerrors: u64,
    /// Frames read from the tap.
    pub ipackets: u64,
    /// Deliveries queued to the kernel (duplicates included, losses excluded).
    pub delivered: u64,
    /// Frames read that were shorter than an Ethernet header, dropped.
    pub runts: u64,
    /// Frames read that were longer than [`VIRTIF_MAX_FRAME`], dropped.
    pub giants: u64,
    /// Host read or poll errors on the tap.
    pub ierrors: u64,
    /// Deliveries dropped because the kernel's input queue was full.
    pub qdrops: u64,
    /// Deliveries dropped for want of mbufs.
    pub nobufs: u64,
    /// What the receive impairment did.
    pub impair: ImpairStats,
}

#[derive(Default)]
struct Counters {
    opackets: AtomicU64,
    oqdrops: AtomicU64,
    olinkdown: AtomicU64,
    oerrors: AtomicU64,
    ipackets: AtomicU64,
    delivered: AtomicU64,
    runts: AtomicU64,
    giants: AtomicU64,
    ierrors: AtomicU64,
    qdrops: AtomicU64,
    nobufs: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What an interface's driver and its receive thread share.
struct IfShared {
    tap: TapFd,
    wake: WakeFd,
    tapname: String,
    ifname: String,
    stop: AtomicBool,
    imp: Mutex<Impairment>,
    c: Counters,
}

impl IfShared {
    fn stats(&self) -> VirtifStats {
        let c = &self.c;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        VirtifStats {
            opackets: l(&c.opackets),
            oqdrops: l(&c.oqdrops),
            olinkdown: l(&c.olinkdown),
            oerrors: l(&c.oerrors),
            ipackets: l(&c.ipackets),
            delivered: l(&c.delivered),
            runts: l(&c.runts),
            giants: l(&c.giants),
            ierrors: l(&c.ierrors),
            qdrops: l(&c.qdrops),
            nobufs: l(&c.nobufs),
            impair: self.imp.lock().stats(),
        }
    }

    /// Tell the receive thread to stop and wake it out of its poll.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.signal();
    }
}

/// The interfaces of every kernel in the process, for the counters and controls below.
static REGISTRY: IfRegistry<IfShared> = IfRegistry::new();

/// Interfaces attached in this process, mixed into addresses.
static ATTACHED: AtomicU64 = AtomicU64::new(0);

fn lookup(k: &Kernel, ifindex: usize) -> Option<Arc<IfShared>> {
    REGISTRY.lookup(k, ifindex)
}

/// The driver of one virtif interface.
struct VirtifDriver {
    shared: Arc<IfShared>,
    /// The frame being sent, copied out of its chain.
    scratch: Vec<u8>,
}

impl IfDriver for VirtifDriver {
    /// Write the frame to the tap with one non-blocking write(2).
    fn output(&mut self, _k: &mut KernelState, m: MbufChain) -> KResult<()> {
        let sh = &*self.shared;
        let len = m.len();
        if !(ETHER_HDR_LEN..=VIRTIF_MAX_FRAME).contains(&len) {
            bump(&sh.c.oerrors);
            return Err(Errno::EMSGSIZE);
        }
        self.scratch.resize(len, 0);
        m.copy_out(0, &mut self.scratch);
        drop(m);
        match sh.tap.write(&self.scratch) {
            Ok(true) => {
                bump(&sh.c.opackets);
                Ok(())
            }
            Ok(false) => {
                // The host's queue is full: drop, as full hardware would.
                bump(&sh.c.oqdrops);
                Err(Errno::ENOBUFS)
            }
            Err(Errno::EIO) => {
                // The host side of the tap is down: the frame falls on the floor, as on
                // a wire with no carrier.
                bump(&sh.c.olinkdown);
                Err(Errno::ENETDOWN)
            }
            Err(e) => {
                bump(&sh.c.oerrors);
                tracing::debug!(ifname = %sh.ifname, len, "virtif: write: {e}");
                Err(e)
            }
        }
    }

    fn detach(&mut self) {
        self.shared.stop();
    }
}

/// Attach an Ethernet interface `virtN` (N the lowest unit free in `k`) on the host tap
/// device `tapname`, creating the tap if it is missing and the process may (CAP_NET_ADMIN),
/// with MTU `opts.mtu` (default 1500, at most 9000) and the receive impairment of
/// `opts`; start its receive thread and return its index. The interface is not up:
/// configuration brings it up.
///
/// # Errors
/// `EINVAL` for an MTU out of range or an empty or malformed tap name; `ENAMETOOLONG`
/// for a tap name over [`VIRTIF_TAPNAME_MAX`] bytes; the host's errors attaching the
/// tap, in NetBSD numbers (`EPERM`/`EACCES` without privileges, `EBUSY`, `ENOENT` when
/// there is no `/dev/net/tun`); what `KernelState::if_attach` returns.
pub fn virtif_attach(k: &Kernel, tapname: &str, opts: &IfOptions) -> KResult<usize> {
    let mtu = opts.mtu.unwrap_or(VIRTIF_DEFAULT_MTU);
    if !(VIRTIF_MIN_MTU..=VIRTIF_MAX_MTU).contains(&mtu) {
        return Err(Errno::EINVAL);
    }
    let (tap, hostname) = TapFd::open(tapname).inspect_err(|e| {
        tracing::warn!(tap = %tapname, "virtif: cannot attach the tap: {e} ({})", e.name());
    })?;
    let wake = WakeFd::new()?;
    let mut rnd = [0u8; 8];
    k.hypervisor().getrandom(&mut rnd);
    let nth = ATTACHED.fetch_add(1, Ordering::Relaxed);
    let salt = u64::from(sys::getpid()) << 32 | (nth & 0xffff_ffff);
    let m = splitmix64(u64::from_ne_bytes(rnd) ^ splitmix64(salt)).to_be_bytes();
    let [a, b, c] = VIRTIF_MAC_PREFIX;
    let lladdr = [a, b, c, m[0], m[1], m[2]];

    let mut g = k.lock();
    let ifname = (0u32..)
        .map(|n| format!("{VIRTIF_IFNAME}{n}"))
        .find(|name| g.ifunit(name).is_none())
        .expect("fewer than 2^32 interfaces");
    let shared = Arc::new(IfShared {
        tap,
        wake,
        tapname: hostname.clone(),
        ifname: ifname.clone(),
        stop: AtomicBool::new(false),
        imp: Mutex::new(Impairment::new(opts.clone())),
        c: Counters::default(),
    });
    let drv = VirtifDriver {
        shared: shared.clone(),
        scratch: Vec::with_capacity(VIRTIF_MAX_FRAME),
    };
    let ifindex = g.if_attach(
        &ifname,
        IfType::Ether,
        mtu,
        lladdr,
        flags::IFF_BROADCAST | flags::IFF_MULTICAST,
        Box::new(drv),
    )?;
    let input = g.if_input(ifindex);
    let pool = g.pool.clone();
    let host = g.host.clone();
    drop(g);

    REGISTRY.register(k, ifindex, &shared);
    let rx = shared.clone();
    k.kthread_create(&format!("{ifname}-rx"), move |kern| {
        virtif_rx(&kern, &rx, &input, &pool, &*host);
    });
    let sh = shared.clone();
    k.on_halt(Box::new(move || sh.stop()));
    tracing::debug!(%ifname, tap = %hostname, mac = ?lladdr, "virtif attached");
    Ok(ifindex)
}

/// The receive thread of one interface: wait in poll (no lock held) for frames or the
/// wakeup, read what is waiting, impair and deliver it.
fn virtif_rx(
    k: &KernelInner,
    sh: &IfShared,
    input: &IfInput,
    pool: &MbufPool,
    host: &dyn Hypervisor,
) {
    // One byte more than the largest frame, to tell a giant from a frame that fits.
    let mut buf = vec![0u8; VIRTIF_MAX_FRAME + 1];
    let stopping = || k.is_halted() || sh.stop.load(Ordering::SeqCst);
    while !stopping() {
        let p = sh.tap.poll(&sh.wake, RX_WAIT);
        if p.woken {
            sh.wake.drain();
        }
        if p.tap_error && !p.tap_readable {
            // Nothing to read and poll would return at once: count and wait out a
            // slice, so a broken tap costs a bounded rate of wakeups, never a spin.
            bump(&sh.c.ierrors);
            std::thread::sleep(RX_WAIT);
            continue;
        }
        if !p.tap_readable {
            continue;
        }
        for _ in 0..RX_BATCH {
            if stopping() {
                break;
            }
            let n = match sh.tap.read(&mut buf) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => {
                    // A tap the host took away (EBADFD, EIO) stays "readable": wait out
                    // a slice so a broken tap never makes this thread spin.
                    bump(&sh.c.ierrors);
                    tracing::debug!(ifname = %sh.ifname, "virtif: read: {e}");
                    std::thread::sleep(RX_WAIT);
                    break;
                }
            };
            bump(&sh.c.ipackets);
            if n < ETHER_HDR_LEN {
                bump(&sh.c.runts);
                continue;
            }
            if n > VIRTIF_MAX_FRAME {
                bump(&sh.c.giants);
                continue;
            }
            virtif_deliver(sh, &buf[..n], input, pool, host);
        }
    }
    tracing::debug!(ifname = %sh.ifname, "virtif receive thread stops");
}

/// Hand one received frame to the kernel as the interface's impairment says.
fn virtif_deliver(
    sh: &IfShared,
    frame: &[u8],
    input: &IfInput,
    pool: &MbufPool,
    host: &dyn Hypervisor,
) {
    let d = deliver_impaired(&sh.imp, frame, pool, host, |m, nb| input.input_at(m, nb));
    sh.c.delivered.fetch_add(d.queued, Ordering::Relaxed);
    sh.c.qdrops.fetch_add(d.qdrops, Ordering::Relaxed);
    sh.c.nobufs.fetch_add(d.nobufs, Ordering::Relaxed);
}

/// The counters of virtif interface `ifindex` of `k`; `None` if it is not one.
pub fn virtif_stats(k: &Kernel, ifindex: usize) -> Option<VirtifStats> {
    lookup(k, ifindex).map(|s| s.stats())
}

/// The name of the host tap virtif interface `ifindex` of `k` is attached to.
pub fn virtif_tapname(k: &Kernel, ifindex: usize) -> Option<String> {
    lookup(k, ifindex).map(|s| s.tapname.clone())
}

/// Change the receive impairment of virtif interface `ifindex` of `k`, restarting its
/// random sequence from `opts.seed` (the MTU in `opts` is ignored).
///
/// # Errors
/// `ENXIO` when it is not a virtif interface.
pub fn virtif_set_impairment(k: &Kernel, ifindex: usize, opts: &IfOptions) -> KResult<()> {
    let sh = lookup(k, ifindex).ok_or(Errno::ENXIO)?;
    sh.imp.lock().reset(opts.clone());
    Ok(())
}
