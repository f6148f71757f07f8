//! shmif: an Ethernet bus in a file that any number of processes map (the paper's
//! section 4.2 "dedicated driver which only does interprocess communication"; NetBSD:
//! sys/rump/net/lib/libshmif). No root is needed, only permission to the file.
//!
//! # The medium
//!
//! A bus is a regular file mapped `MAP_SHARED` by every kernel on it, in any number of
//! processes. It behaves like a shared wire: every frame one interface sends is seen by
//! every other interface on the bus, in the order the bus lock put them in, including
//! interfaces of other kernels in the same process; an interface never receives its own
//! frames (each record carries its sender's random 64-bit id, as NetBSD's does). An
//! interface that joins late starts at the bus's current end. Ethernet input filters by
//! destination address, as on shared coax. Frames carry no FCS and may be up to
//! [`SHMIF_MAX_FRAME`] bytes (MTU 9000, jumbo); the default MTU is 1500.
//!
//! # The bus format (version 2)
//!
//! Our own format, not NetBSD's (whose lock a dead process wedges and whose readers can
//! accept a half-overwritten frame). All fields are in the creating host's byte order
//! (a bus of the other byte order is refused: its magic reads swapped). A file is
//! a 4096-byte header page followed by the ring:
//!
//! | offset | type | field | meaning |
//! |---|---|---|---|
//! | 0 | u32 | magic | [`SHMIF_MAGIC`], the bytes "RSHM" on little-endian hosts |
//! | 4 | u32 | version | [`SHMIF_VERSION`] (2) |
//! | 8 | u32 | hdr_size | 4096: the ring starts here |
//! | 12 | u32 | ring_size | bytes, a multiple of 8, 64 KiB to 256 MiB (default 1 MiB) |
//! | 16 | u32 | max_frame | [`SHMIF_MAX_FRAME`] (9014) |
//! | 20 | u32 | lock | the bus lock: 0 free, else the holder's process id |
//! | 24 | u32 | wake | futex word, bumped after every frame (and FUTEX_WAKEd when someone sleeps) |
//! | 28 | u32 | recoveries | bus locks taken over from dead holders, ever |
//! | 32 | u64 | head | position where the next record goes |
//! | 40 | u64 | first | position of the oldest valid record |
//! | 48 | u64 | next_seq | sequence number of the next frame (frames ever sent) |
//! | 56 | u64 | created | wall-clock creation time, ns since the epoch |
//! | 64 | u64 | bad_records | records writers found impossible and skipped, ever |
//! | 72 | u32 | sleepers | readers asleep on `wake` (a count a dead sleeper may leave high: harmless) |
//! | 76 | u32 | uncounted | interfaces of processes that found the member table full |
//! | 128 | u64 × 64 | members | processes on the bus: `pid << 32 \| interfaces` (0: free) |
//!
//! The rest of the page is zero. Positions are monotonic 64-bit byte counts since the
//! bus was created, always multiples of 8; position `p` lives at ring offset
//! `p % ring_size`, so records wrap around the end of the ring word by word. A file
//! is `4096 + ring_size` bytes exactly. A record is five u64 words and the frame:
//!
//! | offset | type | field | meaning |
//! |---|---|---|---|
//! | 0 | u64 | tag | the record's own position: proves a record starts here |
//! | 8 | u64 | seq | the frame's sequence number (0, 1, 2, ... per bus) |
//! | 16 | u64 | len | frame length in the low 32 bits (14 to 9014); high bits 0 |
//! | 24 | u64 | sender | the sending interface's random id |
//! | 32 | u64 | time | the sender's wall clock, ns since the epoch |
//! | 40 | bytes | frame | the Ethernet frame, padded with zeros to a multiple of 8 |
//!
//! # Opening a bus
//!
//! [`Bus::open`] creates a missing file (O_CREAT, mode 0666 less the umask), and under
//! flock(2) of the file sizes it with ftruncate and writes the header, so racing
//! creators end up with one valid bus; an empty or all-zero file (a creator that died)
//! is initialised again. Anything else is checked before it is mapped: a wrong magic
//! number, version, header size, ring size or frame limit, a file shorter (truncated)
//! or longer than header plus ring, or one that is not a regular file, is refused with
//! **`EFTYPE`** ("Inappropriate file type or format", NetBSD 79; `EINVAL` to a Linux
//! caller through the host ABI), and [`BusError`] says which check failed.
//!
//! # Writing: the bus lock
//!
//! Writers serialise on the header's lock word, which holds the holder's pid. A waiter
//! spins briefly, then yields and sleeps in 50 µs steps; once the holder has kept the
//! lock for 2 ms, and every 2 ms after, it asks whether the holder lives (kill(pid, 0),
//! and /proc for zombies). A dead holder's lock is taken over by compare-and-swap and
//! counted in `recoveries` and in the taker's interface counters, so a process
//! SIGKILLed in the middle of a write leaves the bus usable. Nothing a writer does is
//! unsafe to interrupt: it first moves `first` past every record its frame will
//! overwrite (walking the records from `first`; an impossible record is skipped by
//! scanning for the next valid tag and counted in `bad_records`), then writes the
//! record, then publishes it by storing `next_seq` and `head`, releases the lock, bumps
//! `wake` and calls FUTEX_WAKE. A half-written record past `head` is simply overwritten
//! by the next writer. Limits: liveness is judged by pid, so buses shared across pid
//! namespaces, or a dead holder's pid reused at once, defeat the takeover.
//!
//! # Reading: a seqlock per record
//!
//! Readers take no lock. A reader keeps its own position and the sequence number it
//! expects next. To read the record at its position it copies the record's words, then
//! (after an acquire fence pairing with the writer's release fence between moving
//! `first` and overwriting) checks that `first` has not passed the record: if it has,
//! the copy may be torn and is thrown away. A reader that falls more than a ring behind
//! finds its position below `first`, resyncs to `first` (the oldest valid record) and
//! counts the frames it missed from the sequence numbers. A record whose tag is not
//! its position, whose length is impossible, which ends past `head` or whose sequence
//! number goes backwards is never trusted: it is dropped and counted, and the reader
//! scans forward for the next valid tag.
//!
//! Waiting for frames is a futex wait (not FUTEX_PRIVATE: the word is in a shared
//! mapping) on `wake`, with a timeout so a halting kernel is noticed even if its wakeup
//! is lost; never a spin.
//!
//! # The interface
//!
//! [`shmif_attach`] creates `shmifN` with a locally administered address
//! `02:73:68:xx:xx:xx` ("sh") and a random sender id, both from the kernel's
//! [`Hypervisor::getrandom`] mixed with the pid and a process-wide counter so that
//! kernels with equal test seeds still differ. Output ([`IfDriver::output`], under the
//! kernel lock) copies the frame into the ring under the bus lock and wakes the
//! readers. A kernel thread per interface reads the bus without holding the kernel lock,
//! skips the interface's own frames, applies the receive impairment of the interface's
//! options ([`super::impair`]) and hands the frames to [`IfInput`]. At kernel halt the
//! thread is told to stop and woken through the futex.
//!
//! Lock order: the kernel lock, then the bus lock (a leaf: nothing is taken under it).
//! The receive thread takes neither while it waits.

mod bus;
mod sys;

pub use bus::{
    check_header, field, record_size, Bus, BusError, BusFrame, BusInfo, BusReader, FrameInfo,
    NotABus, ReaderStats, SendInfo, ETHER_HDR_LEN, SHMIF_DEFAULT_RING, SHMIF_HDR_SIZE, SHMIF_MAGIC,
    SHMIF_MAX_FRAME, SHMIF_MAX_RING, SHMIF_MEMBER_SLOTS, SHMIF_MIN_RING, SHMIF_REC_HDR,
    SHMIF_VERSION,
};

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::ifregistry::IfRegistry;
use super::impair::{deliver_impaired, splitmix64, ImpairStats, Impairment};
use crate::config::IfOptions;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::{KernelInner, KernelState};
use crate::kern::mbuf::{MbufChain, MbufPool};
use crate::kern::Kernel;
use crate::net::ifnet::{flags, IfDriver, IfInput, IfType};
use crate::rumpuser::Hypervisor;
use crate::wire::pcap::PcapWriter;

/// MTU of a shmif interface when the options name none (ETHERMTU).
pub const SHMIF_DEFAULT_MTU: u32 = 1500;
/// Largest MTU a shmif interface takes.
pub const SHMIF_MAX_MTU: u32 = 9000;
/// Smallest MTU (IPv4's minimum datagram).
pub const SHMIF_MIN_MTU: u32 = 68;
/// The first three bytes of every shmif address: locally administered, unicast, "sh".
pub const SHMIF_MAC_PREFIX: [u8; 3] = [0x02, 0x73, 0x68];

/// Interface name prefix: `shmif0`, `shmif1`, ...
const SHMIF_IFNAME: &str = "shmif";
/// Most frames a receive thread handles before looking at its stop flag again.
const RX_BATCH: usize = 256;
/// Longest a receive thread sleeps without looking at its stop flag.
const RX_WAIT: Duration = Duration::from_millis(200);

/// Counters of one shmif interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShmifStats {
    /// Frames sent on the bus.
    pub opackets: u64,
    /// Frames refused on output (too long for the bus).
    pub oerrors: u64,
    /// Frames from other interfaces read off the bus.
    pub ipackets: u64,
    /// Deliveries queued to the kernel (duplicates included, losses excluded).
    pub delivered: u64,
    /// Our own frames, seen on the bus and skipped.
    pub own: u64,
    /// Frames overwritten before this interface read them (it fell a ring behind).
    pub lost: u64,
    /// Records with an impossible header, dropped (by the reader or, making room, by
    /// this interface's writes).
    pub bad_headers: u64,
    /// Bus locks this interface took over from dead holders.
    pub lock_recoveries: u64,
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
    oerrors: AtomicU64,
    ipackets: AtomicU64,
    delivered: AtomicU64,
    own: AtomicU64,
    lost: AtomicU64,
    rx_bad: AtomicU64,
    tx_bad: AtomicU64,
    recoveries: AtomicU64,
    qdrops: AtomicU64,
    nobufs: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Control of the receive thread, behind `IfShared::ctl`.
#[derive(Default)]
struct RxCtl {
    /// Asked to stop reading (a slow reader, for tests and diagnostics).
    paused: bool,
    /// The thread is parked because of `paused`.
    parked: bool,
}

/// What an interface's driver and its receive thread share.
struct IfShared {
    bus: Arc<Bus>,
    sender: u64,
    ifname: String,
    stop: AtomicBool,
    ctl: Mutex<RxCtl>,
    ctl_cv: Condvar,
    imp: Mutex<Impairment>,
    c: Counters,
}

impl IfShared {
    fn stats(&self) -> ShmifStats {
        let c = &self.c;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ShmifStats {
            opackets: l(&c.opackets),
            oerrors: l(&c.oerrors),
            ipackets: l(&c.ipackets),
            delivered: l(&c.delivered),
            own: l(&c.own),
            lost: l(&c.lost),
            bad_headers: l(&c.rx_bad) + l(&c.tx_bad),
            lock_recoveries: l(&c.recoveries),
            qdrops: l(&c.qdrops),
            nobufs: l(&c.nobufs),
            impair: self.imp.lock().stats(),
        }
    }

    /// Tell the receive thread to stop and wake it wherever it sleeps.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        {
            // Under the lock, so a thread about to wait on the condvar cannot miss it.
            let _ctl = self.ctl.lock();
            self.ctl_cv.notify_all();
        }
        self.bus.wake_all();
    }
}

/// The interfaces of every kernel in the process, for the counters and controls below.
static REGISTRY: IfRegistry<IfShared> = IfRegistry::new();

/// Interfaces attached in this process, mixed into addresses and sender ids.
static ATTACHED: AtomicU64 = AtomicU64::new(0);

fn lookup(k: &Kernel, ifindex: usize) -> Option<Arc<IfShared>> {
    REGISTRY.lookup(k, ifindex)
}

/// The driver of one shmif interface.
struct ShmifDriver {
    shared: Arc<IfShared>,
    /// The frame being sent, copied out of its chain.
    scratch: Vec<u8>,
}

impl IfDriver for ShmifDriver {
    /// Append the frame to the bus and wake its readers; waits only for the bus lock.
    fn output(&mut self, _k: &mut KernelState, m: MbufChain) -> KResult<()> {
        let sh = &*self.shared;
        let len = m.len();
        if !(ETHER_HDR_LEN..=SHMIF_MAX_FRAME).contains(&len) {
            bump(&sh.c.oerrors, 1);
            return Err(Errno::EMSGSIZE);
        }
        self.scratch.resize(len, 0);
        m.copy_out(0, &mut self.scratch);
        drop(m);
        let info = sh
            .bus
            .send(sh.sender, sys::wall_clock_ns(), &self.scratch)?;
        bump(&sh.c.opackets, 1);
        bump(&sh.c.recoveries, u64::from(info.recovered));
        bump(&sh.c.tx_bad, info.bad_records);
        Ok(())
    }

    fn detach(&mut self) {
        self.shared.stop();
    }
}

/// Attach an Ethernet interface `shmifN` (N the lowest unit free in `k`) on the bus in
/// `busfile`, creating the bus if the file is missing, with MTU `opts.mtu` (default
/// 1500, at most 9000) and the receive impairment of `opts`; start its receive thread
/// and return its index. The interface is not up: configuration brings it up.
///
/// # Errors
/// `EINVAL` for an MTU out of range; `EFTYPE` when the file is not a bus (logged with
/// the reason); host errors opening or mapping it; what `KernelState::if_attach`
/// returns.
pub fn shmif_attach(k: &Kernel, busfile: &Path, opts: &IfOptions) -> KResult<usize> {
    let mtu = opts.mtu.unwrap_or(SHMIF_DEFAULT_MTU);
    if !(SHMIF_MIN_MTU..=SHMIF_MAX_MTU).contains(&mtu) {
        return Err(Errno::EINVAL);
    }
    let bus = Bus::open(busfile).map_err(|e| {
        tracing::warn!(bus = %busfile.display(), "shmif: {e}");
        e.errno()
    })?;
    let mut rnd = [0u8; 16];
    k.hypervisor().getrandom(&mut rnd);
    let nth = ATTACHED.fetch_add(1, Ordering::Relaxed);
    let salt = u64::from(sys::getpid()) << 32 | (nth & 0xffff_ffff);
    let r0 = u64::from_ne_bytes(rnd[..8].try_into().expect("8 bytes"));
    let r1 = u64::from_ne_bytes(rnd[8..].try_into().expect("8 bytes"));
    let sender = splitmix64(r0 ^ splitmix64(salt)).max(1);
    let m = splitmix64(r1 ^ salt.rotate_left(17)).to_be_bytes();
    let [a, b, c] = SHMIF_MAC_PREFIX;
    let lladdr = [a, b, c, m[0], m[1], m[2]];

    let mut g = k.lock();
    let ifname = (0u32..)
        .map(|n| format!("{SHMIF_IFNAME}{n}"))
        .find(|name| g.ifunit(name).is_none())
        .expect("fewer than 2^32 interfaces");
    let shared = Arc::new(IfShared {
        bus: bus.clone(),
        sender,
        ifname: ifname.clone(),
        stop: AtomicBool::new(false),
        ctl: Mutex::new(RxCtl::default()),
        ctl_cv: Condvar::new(),
        imp: Mutex::new(Impairment::new(opts.clone())),
        c: Counters::default(),
    });
    let drv = ShmifDriver {
        shared: shared.clone(),
        scratch: Vec::with_capacity(SHMIF_MAX_FRAME),
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
    bus.join();
    // Position the reader before returning, so frames sent after attach are seen.
    let mut reader = bus.reader_at_end();
    reader.skip_payload_of(shared.sender);
    let rx = shared.clone();
    k.kthread_create(&format!("{ifname}-rx"), move |kern| {
        shmif_rx(&kern, &rx, reader, &input, &pool, &*host);
        rx.bus.leave();
    });
    let sh = shared.clone();
    k.on_halt(Box::new(move || sh.stop()));
    tracing::debug!(%ifname, bus = %busfile.display(), mac = ?lladdr, "shmif attached");
    Ok(ifindex)
}

/// The receive thread of one interface: read the bus, skip our own frames, impair and
/// deliver the rest; sleep on the bus futex when there is nothing to read.
fn shmif_rx(
    k: &KernelInner,
    sh: &IfShared,
    mut reader: BusReader,
    input: &IfInput,
    pool: &MbufPool,
    host: &dyn Hypervisor,
) {
    let mut buf = Vec::with_capacity(SHMIF_MAX_FRAME);
    let mut seen = ReaderStats::default();
    let stopping = || k.is_halted() || sh.stop.load(Ordering::SeqCst);
    while !stopping() {
        {
            let mut ctl = sh.ctl.lock();
            while ctl.paused && !stopping() {
                ctl.parked = true;
                sh.ctl_cv.notify_all();
                sh.ctl_cv.wait_for(&mut ctl, RX_WAIT);
            }
            ctl.parked = false;
        }
        let mut n = 0;
        while n < RX_BATCH {
            let Some(info) = reader.next_into(&mut buf) else {
                break;
            };
            n += 1;
            if info.sender == sh.sender {
                bump(&sh.c.own, 1);
                continue;
            }
            bump(&sh.c.ipackets, 1);
            shmif_deliver(sh, &buf, input, pool, host);
        }
        if n > 0 {
            crate::kern::kernel::netisr_dispatch(k, &input.q);
        }
        let st = reader.stats();
        bump(&sh.c.lost, st.lost - seen.lost);
        bump(&sh.c.rx_bad, st.bad - seen.bad);
        seen = st;
        if n == 0 {
            reader.wait(RX_WAIT);
        }
    }
    tracing::debug!(ifname = %sh.ifname, "shmif receive thread stops");
}

/// Hand one received frame to the kernel as the interface's impairment says.
fn shmif_deliver(
    sh: &IfShared,
    frame: &[u8],
    input: &IfInput,
    pool: &MbufPool,
    host: &dyn Hypervisor,
) {
    let d = deliver_impaired(&sh.imp, frame, pool, host, |m, nb| input.input_quiet(m, nb));
    bump(&sh.c.delivered, d.queued);
    bump(&sh.c.qdrops, d.qdrops);
    bump(&sh.c.nobufs, d.nobufs);
}

/// The counters of shmif interface `ifindex` of `k`; `None` if it is not one.
pub fn shmif_stats(k: &Kernel, ifindex: usize) -> Option<ShmifStats> {
    lookup(k, ifindex).map(|s| s.stats())
}

/// The bus of shmif interface `ifindex` of `k`.
pub fn shmif_bus(k: &Kernel, ifindex: usize) -> Option<Arc<Bus>> {
    lookup(k, ifindex).map(|s| s.bus.clone())
}

/// The sender id shmif interface `ifindex` of `k` tags its frames with.
pub fn shmif_sender_id(k: &Kernel, ifindex: usize) -> Option<u64> {
    lookup(k, ifindex).map(|s| s.sender)
}

/// Change the receive impairment of shmif interface `ifindex` of `k`, restarting its
/// random sequence from `opts.seed` (the MTU in `opts` is ignored).
///
/// # Errors
/// `ENXIO` when it is not a shmif interface.
pub fn shmif_set_impairment(k: &Kernel, ifindex: usize, opts: &IfOptions) -> KResult<()> {
    let sh = lookup(k, ifindex).ok_or(Errno::ENXIO)?;
    sh.imp.lock().reset(opts.clone());
    Ok(())
}

/// Stop (or restart) reading the bus on shmif interface `ifindex` of `k`: a reader made
/// slow on purpose, which falls behind and loses what the ring overwrites. Pausing
/// returns once the receive thread is parked (or after 5 s).
///
/// # Errors
/// `ENXIO` when it is not a shmif interface; `ETIMEDOUT` when the thread did not park.
pub fn shmif_set_rx_paused(k: &Kernel, ifindex: usize, paused: bool) -> KResult<()> {
    let sh = lookup(k, ifindex).ok_or(Errno::ENXIO)?;
    let mut ctl = sh.ctl.lock();
    ctl.paused = paused;
    sh.ctl_cv.notify_all();
    if !paused {
        return Ok(());
    }
    drop(ctl);
    // Kick it out of its futex wait.
    sh.bus.wake_all();
    let mut ctl = sh.ctl.lock();
    for _ in 0..50 {
        if ctl.parked || sh.stop.load(Ordering::SeqCst) || k.inner.is_halted() {
            return Ok(());
        }
        sh.ctl_cv.wait_for(&mut ctl, Duration::from_millis(100));
    }
    Err(Errno::ETIMEDOUT)
}

/// Write the frames `reader` has ahead of it, up to the bus's current end, to `w` as
/// pcap records stamped with the senders' wall clocks; returns how many.
///
/// # Errors
/// Those of the writes.
pub fn dump_pcap<W: Write>(reader: &mut BusReader, w: &mut PcapWriter<W>) -> std::io::Result<u64> {
    let mut n = 0;
    let mut buf = Vec::with_capacity(SHMIF_MAX_FRAME);
    while let Some(info) = reader.next_into(&mut buf) {
        w.write_packet(Duration::from_nanos(info.time_ns), &buf)?;
        n += 1;
    }
    Ok(n)
}
