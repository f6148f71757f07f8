//! An in-memory Ethernet link between interfaces of kernels in one process: DESIGN.md's
//! test link, the medium protocol tests run on.
//!
//! # The medium
//!
//! A [`MemLink`] is one broadcast segment, a hub with no learning: a frame sent by one
//! port reaches every other port of the link and never the sender, and the receiving
//! side's Ethernet input filters by destination address, as on shared coax. Sending
//! never blocks and never fails; a frame nobody can take is dropped and counted. Each
//! port gets a unique locally administered unicast address, `02:72:75:xx:xx:xx` ("ru"
//! after the U/L bit), the low 24 bits from a process-wide counter, so any number of
//! kernels can be joined without configuring addresses.
//!
//! # Impairment
//!
//! A port impairs the frames it *receives*, as the `RUMP_NET` interface options say
//! (config.rs, [`IfOptions`]). For each frame, in this order:
//! - loss: the frame is dropped (counted in `lost`);
//! - corruption: the receiver gets a copy with one bit flipped at a random byte past
//!   the 14-byte Ethernet header, so the frame still reaches its protocol and the
//!   protocol's checksum has to catch it;
//! - duplication: the frame is delivered twice;
//! - reordering: the frame is held back 1 to [`REORDER_MAX_TICKS`] ticks beyond its
//!   delay, so frames sent after it overtake it (the netisr delivers delayed frames in
//!   `not_before` order);
//! - delay: the frame may be processed only `delay_ms` after it was sent
//!   ([`IfInput::input_at`] with the current tick plus the delay).
//!
//! Delays are dated by the receiving kernel's clock, which its netisr compares them
//! with; [`memlink_attach`] knows it. A port connected without one (a test's bare
//! queue) is dated by the sending kernel's clock, which is the same thing when the
//! kernels share a hypervisor. Reading a clock takes no lock.
//!
//! The decisions are [`super::impair`]'s, shared with the shmif driver: each port has
//! its own [`Impairment`], seeded from the options' `seed`, and every received frame
//! consumes exactly five draws whatever the probabilities. A port's decisions therefore
//! depend only on its options and on how many frames it has received: the same seed
//! gives the same impairment, and changing one probability does not shift another
//! impairment's pattern. Ports with equal seeds see equal decision sequences; give them
//! different seeds for independent impairment. [`MemLink::set_impairment`] restarts the
//! sequence from the new seed.
//!
//! # Locking and ownership
//!
//! Lock order: the sending kernel's lock, then the link's lock, then the leaves: the
//! sending kernel's mbuf pool lock and each receiver's netisr queue lock. The link lock
//! is held while a frame is copied and queued, so each port consumes its random
//! sequence in delivery order; nothing under it takes a kernel lock. The chain given
//! to [`IfDriver::output`] moves into the last receiver's queue; the other receivers,
//! and corrupted deliveries, get copies from the sending kernel's pool (their clusters
//! go back to that pool when the receiving kernel frees them).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::impair::{copy_frame, Impairment};
use crate::config::IfOptions;
use crate::kern::errno::KResult;
use crate::kern::kern_clock::duration_to_ticks;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::Kernel;
use crate::net::ifnet::{flags, IfDriver, IfInput, IfType};
use crate::rumpuser::Hypervisor;

/// MTU of a memlink interface when the options name none (ETHERMTU).
pub const MEMLINK_DEFAULT_MTU: u32 = 1500;

/// The most ticks a reordered frame is held back beyond its delay.
pub use super::impair::REORDER_MAX_TICKS;

/// The first three bytes of every memlink address: locally administered, unicast.
pub const MEMLINK_MAC_PREFIX: [u8; 3] = [0x02, 0x72, 0x75];

/// Interface name prefix: `mem0`, `mem1`, ...
const MEMLINK_IFNAME: &str = "mem";

/// Link ids, for logs.
static NEXT_LINK_ID: AtomicU32 = AtomicU32::new(1);

/// The low 24 bits of port addresses, process-wide so no two ports share one.
static NEXT_MAC: AtomicU32 = AtomicU32::new(1);

/// Counters of one port, for the frames it receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemLinkStats {
    /// Frames queued to the receiving kernel (duplicates included).
    pub delivered: u64,
    /// Frames dropped by the loss impairment.
    pub lost: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames held back so later ones overtake them.
    pub reordered: u64,
    /// Frames delivered with a bit flipped.
    pub corrupted: u64,
    /// Frames delivered with a link delay.
    pub delayed: u64,
    /// Deliveries dropped because the receiving kernel's input queue was full.
    pub qdrops: u64,
    /// Deliveries dropped because no mbuf was left for a copy.
    pub nobufs: u64,
}

/// One port of a link: where its frames go and how they are impaired.
struct Port {
    /// The receiving kernel's input; `None` before connect and after detach.
    input: Option<IfInput>,
    /// The receiving kernel's host, whose clock dates delays (`None`: the sender's).
    clock: Option<Arc<dyn Hypervisor>>,
    /// Options, random sequence and impairment counters (drivers/impair.rs).
    imp: Impairment,
    lladdr: [u8; 6],
    /// Delivery counters; the impairment counters live in `imp`.
    stats: MemLinkStats,
    /// A [`MemLinkPort`] owns this port; when it is dropped the slot is free for the
    /// next port added, so a process that makes and destroys kernels keeps the link's
    /// port list (and each frame's walk over it) as short as its live ports.
    held: bool,
}

impl Port {
    /// The delivery counters merged with the impairment counters.
    fn stats(&self) -> MemLinkStats {
        let i = self.imp.stats();
        MemLinkStats {
            lost: i.lost,
            duplicated: i.duplicated,
            reordered: i.reordered,
            corrupted: i.corrupted,
            delayed: i.delayed,
            ..self.stats
        }
    }
}

/// An in-memory Ethernet segment joining ports of kernels in one process.
pub struct MemLink {
    id: u32,
    /// Port numbers index this; a dropped port's slot is reused.
    ports: Mutex<Vec<Port>>,
}

impl MemLink {
    /// A link with no ports.
    pub fn new() -> Arc<MemLink> {
        Arc::new(MemLink {
            id: NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed),
            ports: Mutex::new(Vec::new()),
        })
    }

    /// The link's process-wide id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Number of ports in use.
    pub fn ports(&self) -> usize {
        self.ports.lock().iter().filter(|p| p.held).count()
    }

    /// Add a port, not yet connected to a kernel, that impairs what it receives as
    /// `opts` says; it gets a fresh address.
    pub fn add_port(self: &Arc<Self>, opts: IfOptions) -> MemLinkPort {
        let n = NEXT_MAC.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        let [a, b, c] = MEMLINK_MAC_PREFIX;
        let lladdr = [a, b, c, n[1], n[2], n[3]];
        let mut ports = self.ports.lock();
        let fresh = Port {
            input: None,
            clock: None,
            imp: Impairment::new(opts),
            lladdr,
            stats: MemLinkStats::default(),
            held: true,
        };
        let port = match ports.iter().position(|p| !p.held) {
            Some(i) => {
                ports[i] = fresh;
                i
            }
            None => {
                ports.push(fresh);
                ports.len() - 1
            }
        };
        MemLinkPort {
            link: self.clone(),
            port,
        }
    }

    /// A port's owner is gone: stop delivering to it and free its slot.
    fn release(&self, port: usize) {
        let mut ports = self.ports.lock();
        if let Some(p) = ports.get_mut(port) {
            p.input = None;
            p.clock = None;
            p.held = false;
        }
        // Trailing free slots go, so the walk in transmit is as short as can be.
        while ports.last().is_some_and(|p| !p.held) {
            ports.pop();
        }
    }

    /// Deliver what `port` receives through `input` from now on, dating delays by the
    /// clock of `clock`, the receiving kernel's host (`None`: by the sending kernel's).
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn connect(&self, port: usize, input: IfInput, clock: Option<Arc<dyn Hypervisor>>) {
        let p = &mut self.ports.lock()[port];
        p.input = Some(input);
        p.clock = clock;
    }

    /// Stop delivering to `port` (its interface was detached); its frames are dropped
    /// without drawing impairments.
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn disconnect(&self, port: usize) {
        let p = &mut self.ports.lock()[port];
        p.input = None;
        p.clock = None;
    }

    /// The port's Ethernet address.
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn lladdr(&self, port: usize) -> [u8; 6] {
        self.ports.lock()[port].lladdr
    }

    /// The port's counters.
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn stats(&self, port: usize) -> MemLinkStats {
        self.ports.lock()[port].stats()
    }

    /// The impairment of the frames `port` receives.
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn impairment(&self, port: usize) -> IfOptions {
        self.ports.lock()[port].imp.opts().clone()
    }

    /// Change the impairment of the frames `port` receives, reseeding its generator
    /// from `opts.seed`. The MTU in `opts` is ignored: it is the interface's.
    ///
    /// # Panics
    /// If `port` is not a port of this link.
    pub fn set_impairment(&self, port: usize, opts: IfOptions) {
        self.ports.lock()[port].imp.reset(opts);
    }

    /// Send a frame from port `from` to every other connected port. `k` is the sending
    /// kernel: its pool supplies copies, and its clock dates delays for receivers
    /// connected without a clock of their own.
    fn transmit(&self, from: usize, k: &KernelState, m: MbufChain) {
        let len = m.len();
        let mut ports = self.ports.lock();
        let Some(last) = (0..ports.len())
            .rev()
            .find(|&i| i != from && ports[i].input.is_some())
        else {
            return;
        };
        // The frame's bytes, copied out once if some delivery needs a copy.
        let mut bytes: Option<Vec<u8>> = None;
        // Where the original chain goes: (port, not_before).
        let mut original_to = None;
        for (i, p) in ports.iter_mut().enumerate().take(last + 1) {
            let Some(input) = p.input.as_ref().filter(|_| i != from) else {
                continue;
            };
            let fate = p.imp.decide(len);
            if fate.drop {
                continue;
            }
            let st = &mut p.stats;
            let hold = fate.extra_delay_ticks();
            let not_before = match (hold, &p.clock) {
                (0, _) => 0,
                (_, None) => k.ticks() + hold,
                (_, Some(h)) => duration_to_ticks(h.clock_monotonic()) + hold,
            };
            let move_original = i == last && fate.corrupt_at.is_none();
            for _ in 0..fate.copies() - usize::from(move_original) {
                let src = bytes.get_or_insert_with(|| m.to_vec());
                let Some(copy) = copy_frame(&k.pool, src, fate.corrupt_at) else {
                    st.nobufs += 1;
                    continue;
                };
                if input.input_at(copy, not_before) {
                    st.delivered += 1;
                } else {
                    st.qdrops += 1;
                }
            }
            if move_original {
                original_to = Some((i, not_before));
            }
        }
        // Otherwise the original drops here, back to the sender's pool.
        if let Some((i, not_before)) = original_to {
            let p = &mut ports[i];
            if let Some(input) = p.input.as_ref() {
                if input.input_at(m, not_before) {
                    p.stats.delivered += 1;
                } else {
                    p.stats.qdrops += 1;
                }
            }
        }
    }
}

/// The driver of one memlink interface: a port of a [`MemLink`].
pub struct MemLinkPort {
    link: Arc<MemLink>,
    port: usize,
}

impl MemLinkPort {
    /// The port number on its link.
    pub fn port(&self) -> usize {
        self.port
    }

    /// The link.
    pub fn link(&self) -> &Arc<MemLink> {
        &self.link
    }

    /// The port's Ethernet address.
    pub fn lladdr(&self) -> [u8; 6] {
        self.link.lladdr(self.port)
    }
}

impl Drop for MemLinkPort {
    fn drop(&mut self) {
        self.link.release(self.port);
    }
}

impl IfDriver for MemLinkPort {
    /// Broadcast the frame to the link's other ports; never fails.
    fn output(&mut self, k: &mut KernelState, m: MbufChain) -> KResult<()> {
        self.link.transmit(self.port, k, m);
        Ok(())
    }

    fn detach(&mut self) {
        self.link.disconnect(self.port);
    }
}

/// Attach an Ethernet interface `memN` (N the lowest unit free in `k`) on `link`, with
/// MTU `opts.mtu` (default 1500) and the receive impairment of `opts`, and return its
/// index. The interface is not up: configuration brings it up.
///
/// # Errors
/// What `KernelState::if_attach` returns; the port then stays on the link, unconnected.
pub fn memlink_attach(k: &Kernel, link: &Arc<MemLink>, opts: &IfOptions) -> KResult<usize> {
    let mut g = k.lock();
    let name = (0u32..)
        .map(|n| format!("{MEMLINK_IFNAME}{n}"))
        .find(|name| g.ifunit(name).is_none())
        .expect("fewer than 2^32 interfaces");
    let drv = link.add_port(opts.clone());
    let (port, lladdr) = (drv.port(), drv.lladdr());
    let ifindex = g.if_attach(
        &name,
        IfType::Ether,
        opts.mtu.unwrap_or(MEMLINK_DEFAULT_MTU),
        lladdr,
        flags::IFF_BROADCAST | flags::IFF_MULTICAST,
        Box::new(drv),
    )?;
    let mut input = g.if_input(ifindex);
    // The sender may run this kernel's input itself (kern::kernel::with_deferred_input).
    input.kernel = Some(Arc::downgrade(&k.inner));
    link.connect(port, input, Some(g.host.clone()));
    tracing::debug!(ifname = %name, link = link.id(), port, "memlink attached");
    Ok(ifindex)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashSet, VecDeque};
    use std::time::Duration;

    use super::*;
    use crate::drivers::impair::ETHER_HDR_LEN;
    use crate::kern::kernel::BootOptions;
    use crate::kern::mbuf::MAX_HDR;
    use crate::net::ifnet::NetisrQueue;
    use crate::rumpuser::TestHypervisor;

    /// Frames per rate test: a 1% tolerance is then about ten standard deviations.
    const N: u64 = 100_000;

    /// What one port's queue held after a send: (bytes, not_before, ifindex).
    type Arrival = (Vec<u8>, u64, usize);

    fn boot(host: &Arc<TestHypervisor>) -> Kernel {
        Kernel::boot(BootOptions {
            hypervisor: host.clone(),
            ..Default::default()
        })
        .unwrap()
    }

    /// A port delivering into a queue of its own, as interface `ifindex`.
    fn port(
        link: &Arc<MemLink>,
        opts: IfOptions,
        ifindex: usize,
    ) -> (MemLinkPort, Arc<NetisrQueue>) {
        let q = NetisrQueue::new(1 << 16);
        let p = link.add_port(opts);
        let input = IfInput {
            q: q.clone(),
            ifindex,
            kernel: None,
        };
        link.connect(p.port(), input, None);
        (p, q)
    }

    /// A 64-byte broadcast frame carrying `seq` right after the Ethernet header.
    fn frame_bytes(seq: u64) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..6].fill(0xff);
        f[6..12].copy_from_slice(&[2, 0x72, 0x75, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14..22].copy_from_slice(&seq.to_be_bytes());
        for (i, b) in f[22..].iter_mut().enumerate() {
            *b = i as u8;
        }
        f
    }

    fn send(k: &mut KernelState, p: &mut MemLinkPort, bytes: &[u8]) {
        let m = MbufChain::from_slice(&k.pool, bytes, MAX_HDR).unwrap();
        p.output(k, m).unwrap();
    }

    fn drain(q: &NetisrQueue) -> Vec<Arrival> {
        let mut out = VecDeque::new();
        q.take_all(&mut out);
        out.into_iter()
            .map(|f| (f.m.to_vec(), f.not_before, f.ifindex))
            .collect()
    }

    fn impaired(f: impl FnOnce(&mut IfOptions)) -> IfOptions {
        let mut o = IfOptions {
            seed: 7,
            ..Default::default()
        };
        f(&mut o);
        o
    }

    /// Send `n` numbered frames from a clean port to one port impaired by `opts`,
    /// handing `check` each frame, what arrived for it and the tick it was sent at;
    /// returns the receiver's counters.
    fn run(opts: IfOptions, n: u64, mut check: impl FnMut(&[u8], &[Arrival], u64)) -> MemLinkStats {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let mut g = k.lock();
        let link = MemLink::new();
        let (mut tx, _) = port(&link, IfOptions::default(), 1);
        let (rx, q) = port(&link, opts, 2);
        for seq in 0..n {
            let f = frame_bytes(seq);
            send(&mut g, &mut tx, &f);
            check(&f, &drain(&q), g.ticks());
        }
        assert_eq!(link.stats(tx.port()), MemLinkStats::default());
        link.stats(rx.port())
    }

    fn assert_rate(what: &str, count: u64, p: f64) {
        let expect = p * N as f64;
        let tol = 0.01 * N as f64;
        assert!(
            (count as f64 - expect).abs() <= tol,
            "{what}: {count} of {N}, want {expect} ± {tol}"
        );
    }

    /// The decisions of a port impaired by `opts` for `n` frames, as seen by the stack.
    fn trace(opts: IfOptions, n: u64) -> (Vec<Vec<Arrival>>, MemLinkStats) {
        let mut seen = Vec::new();
        let st = run(opts, n, |_, got, _| seen.push(got.to_vec()));
        (seen, st)
    }

    #[test]
    fn frame_reaches_every_other_port_not_the_sender() {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let mut g = k.lock();
        let link = MemLink::new();
        let mut ports: Vec<_> = (1..=3)
            .map(|i| port(&link, IfOptions::default(), i))
            .collect();
        assert_eq!(link.ports(), 3);
        for from in 0..3 {
            let f = frame_bytes(from as u64);
            let before = g.pool.stats().allocated;
            send(&mut g, &mut ports[from].0, &f);
            // The original moves into the last receiver: one copy for two receivers.
            assert_eq!(g.pool.stats().allocated - before, 2);
            for (i, (_, q)) in ports.iter().enumerate() {
                let got = drain(q);
                if i == from {
                    assert!(got.is_empty(), "the sender heard itself");
                } else {
                    assert_eq!(got, vec![(f.clone(), 0, i + 1)]);
                }
            }
        }
        for (p, _) in &ports {
            let st = link.stats(p.port());
            assert_eq!(st.delivered, 2);
            assert_eq!(MemLinkStats { delivered: 0, ..st }, MemLinkStats::default());
        }
        assert_eq!(g.pool.stats().outstanding, 0, "a cluster leaked");
    }

    #[test]
    fn lone_and_detached_ports_take_nothing() {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let mut g = k.lock();
        let link = MemLink::new();
        let (mut a, _) = port(&link, IfOptions::default(), 1);
        send(&mut g, &mut a, &frame_bytes(0));
        let (mut b, qb) = port(&link, IfOptions::default(), 2);
        b.detach();
        send(&mut g, &mut a, &frame_bytes(1));
        assert!(qb.is_empty());
        assert_eq!(link.stats(b.port()), MemLinkStats::default());
        // A port added but never connected takes nothing either.
        let c = link.add_port(IfOptions::default());
        send(&mut g, &mut a, &frame_bytes(2));
        assert_eq!(link.stats(c.port()), MemLinkStats::default());
        assert_eq!(g.pool.stats().outstanding, 0, "a cluster leaked");
    }

    #[test]
    fn loss_one_drops_everything() {
        let st = run(impaired(|o| o.loss = 1.0), 1000, |_, got, _| {
            assert!(got.is_empty())
        });
        assert_eq!((st.lost, st.delivered), (1000, 0));
    }

    #[test]
    fn loss_rate_matches_probability() {
        let st = run(impaired(|o| o.loss = 0.1), N, |f, got, _| {
            assert!(got.is_empty() || got == [(f.to_vec(), 0, 2)]);
        });
        assert_rate("lost", st.lost, 0.1);
        assert_eq!(st.lost + st.delivered, N);
    }

    #[test]
    fn duplication_rate_and_effect() {
        let mut twice = 0;
        let st = run(impaired(|o| o.dup = 0.1), N, |f, got, _| {
            assert!(got.len() == 1 || got.len() == 2);
            twice += u64::from(got.len() == 2);
            assert!(got.iter().all(|a| a == &(f.to_vec(), 0, 2)));
        });
        assert_rate("duplicated", st.duplicated, 0.1);
        assert_eq!(st.duplicated, twice);
        assert_eq!(st.delivered, N + twice);
    }

    #[test]
    fn corruption_rate_flips_one_bit_past_the_header() {
        let mut flipped = 0;
        let mut offsets = HashSet::new();
        let st = run(impaired(|o| o.corrupt = 0.1), N, |f, got, _| {
            let [(bytes, 0, 2)] = got else {
                panic!("{got:?}")
            };
            assert_eq!(bytes.len(), f.len());
            let diff: Vec<_> = (0..f.len())
                .filter_map(|i| {
                    let x = f[i] ^ bytes[i];
                    (x != 0).then_some((i, x.count_ones()))
                })
                .collect();
            match diff[..] {
                [] => {}
                [(off, 1)] => {
                    assert!(off >= ETHER_HDR_LEN, "header corrupted at {off}");
                    offsets.insert(off);
                    flipped += 1;
                }
                _ => panic!("more than one bit flipped: {diff:?}"),
            }
        });
        assert_rate("corrupted", st.corrupted, 0.1);
        assert_eq!(st.corrupted, flipped);
        assert_eq!(st.delivered, N);
        // Every byte past the header is a target.
        assert_eq!(offsets.len(), 64 - ETHER_HDR_LEN);
    }

    #[test]
    fn short_frames_are_never_corrupted() {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let mut g = k.lock();
        let link = MemLink::new();
        let (mut tx, _) = port(&link, IfOptions::default(), 1);
        let (rx, q) = port(&link, impaired(|o| o.corrupt = 1.0), 2);
        let hdr = &frame_bytes(0)[..ETHER_HDR_LEN];
        for _ in 0..100 {
            send(&mut g, &mut tx, hdr);
            assert_eq!(drain(&q), vec![(hdr.to_vec(), 0, 2)]);
        }
        assert_eq!(link.stats(rx.port()).corrupted, 0);
    }

    #[test]
    fn reorder_rate_holds_frames_one_to_four_ticks() {
        let mut held = [0u64; REORDER_MAX_TICKS as usize + 1];
        let st = run(impaired(|o| o.reorder = 0.1), N, |f, got, now| {
            let [(bytes, nb, 2)] = got else {
                panic!("{got:?}")
            };
            assert_eq!(bytes, f);
            if *nb != 0 {
                let extra = nb - now;
                assert!((1..=REORDER_MAX_TICKS).contains(&extra), "{extra}");
                held[extra as usize] += 1;
            }
        });
        assert_rate("reordered", st.reordered, 0.1);
        assert_eq!(st.reordered, held.iter().sum::<u64>());
        assert!(held[1..].iter().all(|&h| h > 0), "{held:?}");
        assert_eq!(st.delayed, 0);
    }

    #[test]
    fn delay_dates_frames_from_the_senders_clock() {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let link = MemLink::new();
        let (mut tx, _) = port(&link, IfOptions::default(), 1);
        let (rx, q) = port(&link, impaired(|o| o.delay_ms = 7), 2);
        for seq in 0..1000 {
            host.advance(Duration::from_micros(300));
            let mut g = k.lock();
            let f = frame_bytes(seq);
            send(&mut g, &mut tx, &f);
            assert_eq!(drain(&q), vec![(f, g.ticks() + 7, 2)]);
        }
        assert_eq!(link.stats(rx.port()).delayed, 1000);
        // Reordering holds a frame back beyond its delay.
        link.set_impairment(
            rx.port(),
            impaired(|o| {
                o.delay_ms = 7;
                o.reorder = 1.0;
            }),
        );
        let mut g = k.lock();
        let now = g.ticks();
        for seq in 0..1000 {
            send(&mut g, &mut tx, &frame_bytes(seq));
            let [(_, nb, 2)] = drain(&q)[..] else {
                panic!()
            };
            assert!((now + 8..=now + 11).contains(&nb), "{nb} at {now}");
        }
        let st = link.stats(rx.port());
        assert_eq!((st.delayed, st.reordered), (2000, 1000));
    }

    #[test]
    fn same_seed_same_decisions() {
        let all = |seed| {
            impaired(|o| {
                o.loss = 0.2;
                o.dup = 0.2;
                o.reorder = 0.2;
                o.corrupt = 0.2;
                o.delay_ms = 3;
                o.seed = seed;
            })
        };
        let (a, sa) = trace(all(42), 10_000);
        let (b, sb) = trace(all(42), 10_000);
        assert_eq!(sa, sb);
        assert!(a == b, "same seed, different impairment");
        let (c, _) = trace(all(43), 10_000);
        assert!(a != c, "another seed, same impairment");
    }

    #[test]
    fn set_impairment_reseeds_and_applies_at_once() {
        let host = TestHypervisor::new(1);
        let k = boot(&host);
        let mut g = k.lock();
        let link = MemLink::new();
        let (mut tx, _) = port(&link, IfOptions::default(), 1);
        let opts = impaired(|o| {
            o.loss = 0.3;
            o.dup = 0.3;
            o.corrupt = 0.3;
        });
        let (rx, q) = port(&link, opts.clone(), 2);
        let mut round = || {
            (0..1000)
                .map(|seq| {
                    send(&mut g, &mut tx, &frame_bytes(seq));
                    drain(&q)
                })
                .collect::<Vec<_>>()
        };
        let first = round();
        link.set_impairment(rx.port(), opts.clone());
        assert!(
            first == round(),
            "set_impairment did not restart the sequence"
        );
        link.set_impairment(rx.port(), impaired(|o| o.loss = 1.0));
        assert_eq!(link.impairment(rx.port()).loss, 1.0);
        assert!(round().iter().all(Vec::is_empty));
    }

    #[test]
    fn one_probability_does_not_shift_another() {
        let lost = |opts| {
            let mut lost = Vec::new();
            run(opts, 10_000, |f, got, _| {
                if got.is_empty() {
                    lost.push(f[14..22].to_vec());
                }
            });
            lost
        };
        let alone = lost(impaired(|o| o.loss = 0.3));
        let mixed = lost(impaired(|o| {
            o.loss = 0.3;
            o.dup = 0.5;
            o.corrupt = 0.5;
            o.reorder = 0.5;
        }));
        assert!(!alone.is_empty());
        assert!(
            alone == mixed,
            "loss pattern moved with the other impairments"
        );
    }

    #[test]
    fn a_dropped_ports_slot_is_reused_and_the_list_shrinks() {
        let link = MemLink::new();
        let a = link.add_port(IfOptions::default());
        let b = link.add_port(IfOptions::default());
        let c = link.add_port(IfOptions::default());
        assert_eq!((a.port(), b.port(), c.port(), link.ports()), (0, 1, 2, 3));
        drop(b);
        assert_eq!(link.ports(), 2);
        let d = link.add_port(IfOptions::default());
        assert_eq!(d.port(), 1, "the free slot is taken again");
        drop(c);
        drop(d);
        assert_eq!(link.ports(), 1);
        assert_eq!(link.ports.lock().len(), 1, "trailing free slots are gone");
        drop(a);
        assert!(link.ports.lock().is_empty());
    }

    #[test]
    fn addresses_are_unique_and_locally_administered() {
        let mut seen = HashSet::new();
        for _ in 0..4 {
            let link = MemLink::new();
            for _ in 0..8 {
                let mac = link.add_port(IfOptions::default()).lladdr();
                assert_eq!(mac[..3], MEMLINK_MAC_PREFIX);
                assert_eq!(mac[0] & 3, 2, "not local unicast: {mac:x?}");
                assert!(seen.insert(mac), "{mac:x?} twice");
            }
        }
    }

    #[test]
    fn attach_names_units_and_joins_kernels() {
        let host = TestHypervisor::new(1);
        let (k1, k2) = (boot(&host), boot(&host));
        let (la, lb) = (MemLink::new(), MemLink::new());
        let a1 = memlink_attach(&k1, &la, &IfOptions::default()).unwrap();
        let jumbo = IfOptions {
            mtu: Some(9000),
            ..Default::default()
        };
        let b1 = memlink_attach(&k1, &lb, &jumbo).unwrap();
        let a2 = memlink_attach(&k2, &la, &impaired(|o| o.delay_ms = 5)).unwrap();
        {
            let g = k1.lock();
            let (i, j) = (g.ifp(a1).unwrap(), g.ifp(b1).unwrap());
            assert_eq!((i.if_xname.as_str(), j.if_xname.as_str()), ("mem0", "mem1"));
            assert_eq!((i.if_mtu, j.if_mtu), (MEMLINK_DEFAULT_MTU, 9000));
            assert_eq!(i.if_type, IfType::Ether);
            assert_eq!(i.if_flags, flags::IFF_BROADCAST | flags::IFF_MULTICAST);
            assert_eq!(i.if_lladdr, la.lladdr(0));
            assert_eq!(j.if_lladdr, lb.lladdr(0));
            let g2 = k2.lock();
            let ifp2 = g2.ifp(a2).unwrap();
            assert_eq!(ifp2.if_xname, "mem0");
            assert_eq!(ifp2.if_lladdr, la.lladdr(1));
        }
        // Down interfaces send nothing; bring k1's mem0 up and send through the stack.
        let f = frame_bytes(9);
        {
            let mut g = k1.lock();
            let m = MbufChain::from_slice(&g.pool, &f, MAX_HDR).unwrap();
            g.ifp_mut(a1).unwrap().if_flags |= flags::IFF_UP;
            g.if_transmit(a1, m).unwrap();
        }
        let mut got = VecDeque::new();
        k2.lock().netisr.take_all(&mut got);
        let got: Vec<_> = got
            .into_iter()
            .map(|x| (x.m.to_vec(), x.not_before, x.ifindex))
            .collect();
        assert_eq!(got, vec![(f, 5, a2)]);
        assert_eq!(la.stats(1).delivered, 1);
        assert_eq!(la.stats(0), MemLinkStats::default());
        assert_eq!(lb.stats(0), MemLinkStats::default());
    }

    #[test]
    fn delay_is_dated_by_the_receivers_clock() {
        let (h1, h2) = (TestHypervisor::new(1), TestHypervisor::new(2));
        h1.advance(Duration::from_millis(100));
        h2.advance(Duration::from_millis(2));
        let (k1, k2) = (boot(&h1), boot(&h2));
        let link = MemLink::new();
        let i1 = memlink_attach(&k1, &link, &IfOptions::default()).unwrap();
        let i2 = memlink_attach(&k2, &link, &impaired(|o| o.delay_ms = 5)).unwrap();
        {
            let mut g = k1.lock();
            let m = MbufChain::from_slice(&g.pool, &frame_bytes(0), MAX_HDR).unwrap();
            g.ifp_mut(i1).unwrap().if_flags |= flags::IFF_UP;
            g.if_transmit(i1, m).unwrap();
        }
        let mut got = VecDeque::new();
        k2.lock().netisr.take_all(&mut got);
        let got: Vec<_> = got.iter().map(|f| (f.not_before, f.ifindex)).collect();
        assert_eq!(got, vec![(2 + 5, i2)]);
    }
}
